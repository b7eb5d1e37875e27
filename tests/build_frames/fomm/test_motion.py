"""The motion maths, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from build_frames.fomm.config import DenseMotionConfig  # noqa: E402
from build_frames.fomm.dense_motion import DenseMotionNetwork  # noqa: E402
from build_frames.fomm.motion import (  # noqa: E402
    Keypoints,
    coordinate_grid,
    heatmap_jacobian,
    heatmap_to_keypoints,
    hull_area,
    invert_2x2,
    keypoint_gaussians,
    movement_scale,
    relative_keypoints,
    sparse_motions,
    warp,
)

TINY_DENSE = DenseMotionConfig(num_kp=3, block_expansion=4, max_features=16, num_blocks=3)


def identity_jacobians(n: int, k: int) -> torch.Tensor:
    return torch.eye(2).expand(n, k, 2, 2).clone()


def random_keypoints(n: int, k: int, seed: int) -> Keypoints:
    gen = torch.Generator().manual_seed(seed)
    value = torch.rand(n, k, 2, generator=gen) * 1.6 - 0.8
    jacobian = torch.eye(2) + 0.2 * torch.randn(n, k, 2, 2, generator=gen)
    return Keypoints(value, jacobian)


def test_coordinate_grid_includes_the_end_points_and_is_x_then_y():
    grid = coordinate_grid(3, 5)
    assert grid.shape == (3, 5, 2)
    assert grid[0, :, 0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]  # x along a row
    assert grid[:, 0, 1].tolist() == [-1.0, 0.0, 1.0]  # y down a column
    assert torch.all(grid[:, :, 1] == grid[:, :1, 1])


def test_keypoint_of_a_one_pixel_heatmap_is_that_pixel_on_the_58px_grid():
    heatmap = torch.zeros(1, 3, 58, 58)
    heatmap[0, 0, 0, 0] = 1  # top-left corner
    heatmap[0, 1, 57, 57] = 1  # bottom-right corner
    heatmap[0, 2, 10, 40] = 1  # row 10, column 40
    value = heatmap_to_keypoints(heatmap)[0]
    assert value[0].tolist() == [-1.0, -1.0]
    assert value[1].tolist() == [1.0, 1.0]
    torch.testing.assert_close(value[2], torch.tensor([2 * 40 / 57 - 1, 2 * 10 / 57 - 1]))


def test_keypoint_is_the_heatmap_mean():
    heatmap = torch.zeros(1, 1, 5, 5)
    heatmap[0, 0, 2, 0] = 0.25  # x -1, y 0
    heatmap[0, 0, 2, 4] = 0.75  # x +1, y 0
    torch.testing.assert_close(heatmap_to_keypoints(heatmap), torch.tensor([[[0.5, 0.0]]]))


def test_jacobian_is_the_heatmap_weighted_mean_of_its_four_maps_row_major():
    heatmap = torch.zeros(1, 2, 4, 4)
    heatmap[0, 0, 1, 1] = heatmap[0, 0, 2, 2] = 0.5
    heatmap[0, 1, 3, 0] = 1.0
    maps = torch.zeros(1, 8, 4, 4)
    maps[0, 0:4, 1, 1] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    maps[0, 0:4, 2, 2] = torch.tensor([3.0, 2.0, 1.0, 0.0])
    maps[0, 4:8, 3, 0] = torch.tensor([5.0, 6.0, 7.0, 8.0])
    maps[0, 4:8, 0, 0] = 100.0  # weight 0 there
    jacobian = heatmap_jacobian(heatmap, maps)
    torch.testing.assert_close(jacobian[0, 0], torch.tensor([[2.0, 2.0], [2.0, 2.0]]))
    torch.testing.assert_close(jacobian[0, 1], torch.tensor([[5.0, 6.0], [7.0, 8.0]]))


def test_invert_2x2_matches_the_general_inverse():
    matrices = torch.eye(2) + 0.3 * torch.randn(
        4, 10, 2, 2, generator=torch.Generator().manual_seed(1)
    )
    torch.testing.assert_close(invert_2x2(matrices), torch.linalg.inv(matrices))
    assert invert_2x2(torch.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist() == [[0.5, 0.0], [0.0, 0.25]]


def test_same_keypoints_with_identity_jacobians_give_identity_sparse_motions():
    kp = Keypoints(torch.tensor([[[0.3, -0.2], [-0.5, 0.6]]]), identity_jacobians(1, 2))
    motions = sparse_motions(kp, kp, 7, 9)
    assert motions.shape == (1, 3, 7, 9, 2)
    grid = coordinate_grid(7, 9)
    for m in range(3):
        torch.testing.assert_close(motions[0, m], grid)


def test_pure_translation_gives_that_translation_in_the_sparse_motion():
    source = torch.tensor([[[0.1, 0.2], [-0.4, 0.3]]])
    shift = torch.tensor([0.25, -0.5])
    kp_source = Keypoints(source, identity_jacobians(1, 2))
    kp_driving = Keypoints(source + shift, identity_jacobians(1, 2))
    motions = sparse_motions(kp_driving, kp_source, 5, 6)
    grid = coordinate_grid(5, 6)
    torch.testing.assert_close(motions[0, 0], grid)  # background stays
    for m in (1, 2):
        # A driving pixel z reads the source at z − shift: content moved by +shift.
        torch.testing.assert_close(motions[0, m], grid - shift)


def test_affine_sparse_motion_is_first_order_around_the_keypoint():
    # Source keypoint at s with J_s = 2·I, driving at d with J_d = I: T(z) = s + 2 (z − d).
    kp_source = Keypoints(torch.tensor([[[0.5, 0.0]]]), 2 * identity_jacobians(1, 1))
    kp_driving = Keypoints(torch.tensor([[[0.0, 0.5]]]), identity_jacobians(1, 1))
    motion = sparse_motions(kp_driving, kp_source, 3, 3)[0, 1]
    # Pixel (row 0, col 2) is z = (1, -1): 0.5 + 2·1 = 2.5, 0 + 2·(-1.5) = -3.
    torch.testing.assert_close(motion[0, 2], torch.tensor([2.5, -3.0]))
    torch.testing.assert_close(motion[1, 0], torch.tensor([0.5 - 2.0, 2 * -0.5]))


def test_same_keypoints_give_an_identity_dense_deformation():
    torch.manual_seed(0)
    network = DenseMotionNetwork(TINY_DENSE).eval()
    kp = Keypoints(torch.rand(2, 3, 2) * 1.6 - 0.8, identity_jacobians(2, 3))
    with torch.inference_mode():
        motion = network(torch.rand(2, 3, 32, 32), kp, kp)
    assert motion.deformation_norm.shape == (2, 8, 8, 2)  # 32 px at scale 0.25
    assert motion.occlusion.shape == (2, 1, 8, 8)
    for n in range(2):
        torch.testing.assert_close(motion.deformation_norm[n], coordinate_grid(8, 8))


def test_warp_with_the_identity_grid_returns_the_input():
    image = torch.rand(2, 5, 7, 9)
    grid = coordinate_grid(7, 9).expand(2, 7, 9, 2)
    torch.testing.assert_close(warp(image, grid), image)


def test_warp_by_one_pixel_shifts_by_one_pixel_with_zeros_outside():
    image = torch.arange(20.0).reshape(1, 1, 4, 5)
    grid = coordinate_grid(4, 5).clone()
    grid[..., 0] += 2 / (5 - 1)  # read one column to the right
    out = warp(image, grid[None])
    torch.testing.assert_close(out[0, 0, :, :4], image[0, 0, :, 1:])
    assert torch.all(out[0, 0, :, 4] == 0)


def test_keypoint_gaussians_peak_at_the_keypoint_with_the_given_variance():
    g = keypoint_gaussians(torch.tensor([[[0.0, 0.0]]]), 5, 5, variance=0.01)
    assert g[0, 0, 2, 2] == 1.0
    # One grid step is 0.5: exp(-0.5 · 0.25 / 0.01).
    torch.testing.assert_close(g[0, 0, 2, 3], torch.tensor(math.exp(-12.5)))


@pytest.mark.parametrize(
    ("points", "area"),
    [
        ([(0, 0), (1, 0), (1, 1), (0, 1)], 1.0),
        ([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5), (0.2, 0.9)], 1.0),  # inner points
        ([(0, 0), (4, 0), (0, 3)], 6.0),
        ([(-1, -1), (1, -1), (1, 1), (-1, 1), (0, 1.5)], 4.5),
        ([(0, 0), (1, 1), (2, 2)], 0.0),  # collinear
        ([(0, 0), (0, 0), (0, 0)], 0.0),
    ],
)
def test_hull_area_by_hand(points, area):
    assert hull_area(np.array(points, float)) == pytest.approx(area)


def test_hull_area_matches_scipy():
    spatial = pytest.importorskip("scipy.spatial")
    points = np.random.default_rng(0).uniform(-1, 1, (10, 2))
    assert hull_area(points) == pytest.approx(spatial.ConvexHull(points).volume)


def test_relative_keypoints_by_hand():
    # Source square of side 1, initial driving square of side 2: scale sqrt(1/4) = 0.5.
    src = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]) * 0.5
    init = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]]) * 0.5
    drv = init + torch.tensor([0.2, -0.4])  # the driver moved by (0.2, -0.4)
    j_src = torch.tensor([[2.0, 0.0], [0.0, 1.0]]).expand(1, 4, 2, 2)
    j_init = torch.tensor([[1.0, 0.0], [0.0, 4.0]]).expand(1, 4, 2, 2)
    j_drv = torch.tensor([[1.0, 1.0], [0.0, 2.0]]).expand(1, 4, 2, 2)
    kp_source, kp_initial = Keypoints(src, j_src), Keypoints(init, j_init)
    scale = movement_scale(kp_source, kp_initial)
    assert scale == pytest.approx(0.5)
    out = relative_keypoints(kp_source, Keypoints(drv, j_drv), kp_initial, scale)
    torch.testing.assert_close(out.value_norm, src + torch.tensor([0.1, -0.2]))
    # J_drv · J_init⁻¹ · J_src = [[1, 1], [0, 2]] · [[1, 0], [0, 1/4]] · [[2, 0], [0, 1]]
    #                          = [[1, 1/4], [0, 1/2]] · [[2, 0], [0, 1]] = [[2, 1/4], [0, 1/2]]
    expected = torch.tensor([[2.0, 0.25], [0.0, 0.5]]).expand(1, 4, 2, 2)
    torch.testing.assert_close(out.jacobian, expected)


def test_first_driving_frame_gives_back_the_source_keypoints():
    kp_source, kp_initial = random_keypoints(1, 10, 1), random_keypoints(1, 10, 2)
    out = relative_keypoints(kp_source, kp_initial, kp_initial, 1.7)
    torch.testing.assert_close(out.value_norm, kp_source.value_norm)
    torch.testing.assert_close(out.jacobian, kp_source.jacobian)


def test_degenerate_driving_keypoints_use_scale_one():
    kp_source = random_keypoints(1, 4, 3)
    line = Keypoints(
        torch.tensor([[[0.0, 0.0], [0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]]), identity_jacobians(1, 4)
    )
    assert movement_scale(kp_source, line) == 1.0
