"""First Order Motion Model (Siarohin et al., NeurIPS 2019), written from the paper."""

from __future__ import annotations
