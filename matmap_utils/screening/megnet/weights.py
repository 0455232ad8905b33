"""What the pretrained MEGNet files hold: the Keras HDF5 weights and functional graph, the JSON
graph converter (Gaussian bond expansion, cutoff) and target scaler (Chen et al., Chem. Mater. 31,
3564 (2019); ``megnet==1.3.2`` file formats), read with ``h5py``/``json`` only — no TensorFlow.

* :func:`read_keras_hdf5` ``(path)`` → ``(layers, weights, inputs, outputs)`` of the Keras
  functional model (Keras 2 format);
* :func:`read_model_json` ``(path)`` → :class:`ModelJSON` (bond-expansion centers and width in Å,
  cutoff in Å, :class:`Scaler`, metadata);
* :class:`Scaler` — ``DummyScaler`` / ``StandardScaler`` inverse transform of predictions;
* :func:`file_sha256` — hex SHA-256 of a file (identifies the model in cache keys).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np


def file_sha256(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path`` (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_h5_weights(h5) -> dict[str, dict[str, np.ndarray]]:
    """Layer name → {weight name (no scope, no ``:0``) → float32 array} of an open Keras HDF5 file."""
    group = h5["model_weights"] if "model_weights" in h5 else h5
    weights = {}
    for lname in group.keys():
        g = group[lname]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])]
        weights[lname] = {n.split("/")[-1].split(":")[0]: np.asarray(g[n], dtype=np.float32) for n in names}
    return weights


def read_keras_hdf5(path: Path):
    """Layers ``[(name, class, config, inbound [(layer, tensor_index)])]`` in file order, weights
    (layer name → arrays), input layer names and output ``(layer, tensor_index)`` of the Keras 2
    functional model stored in the HDF5 file at ``path`` (its ``model_config`` attribute)."""
    with h5py.File(path, "r") as h5:
        cfg = h5.attrs["model_config"]
        cfg = json.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)
        weights = _read_h5_weights(h5)
    if cfg.get("class_name") not in ("Model", "Functional"):
        raise ValueError(f"{path}: expected a Keras functional model, got {cfg.get('class_name')}")
    layers = []
    for layer in cfg["config"]["layers"]:
        inbound = []
        if layer.get("inbound_nodes"):
            node = layer["inbound_nodes"][0]
            if isinstance(node, dict):  # Keras 3 format
                raise ValueError(f"{path}: Keras 3 model files are not supported")
            inbound = [(x[0], int(x[2])) for x in node]
        layers.append(
            (
                layer["config"]["name"] if "name" in layer["config"] else layer["name"],
                layer["class_name"],
                layer["config"],
                inbound,
            )
        )
    inputs = [x[0] for x in cfg["config"]["input_layers"]]
    outputs = [(x[0], int(x[2])) for x in cfg["config"]["output_layers"]]
    return layers, weights, inputs, outputs


class Scaler:
    """The model's target scaler (megnet ``DummyScaler``, or ``StandardScaler``: y = n (ŷ σ + μ),
    n = 1 for an intensive target, else the number of atoms)."""

    def __init__(self, d: dict | None):
        d = d or {}
        self.kind = d.get("@class", "DummyScaler")
        if self.kind not in ("DummyScaler", "StandardScaler"):
            raise ValueError(f"target scaler {self.kind} is not supported")
        self.mean = float(d.get("mean", 0.0))
        self.std = float(d.get("std", 1.0))
        self.is_intensive = bool(d.get("is_intensive", True))

    def inverse_transform(self, y: np.ndarray, n_atoms: np.ndarray) -> np.ndarray:
        if self.kind == "DummyScaler":
            return y
        n = 1 if self.is_intensive else n_atoms
        return n * (y * self.std + self.mean)


@dataclass
class ModelJSON:
    """The JSON next to a model's HDF5: Gaussian bond expansion ``exp(-(d - c_k)² / width²)``
    (centers and width in Å), the graph cutoff (Å), the target scaler and the metadata."""

    centers: np.ndarray
    width: float
    cutoff: float
    scaler: Scaler
    metadata: dict = field(default_factory=dict)


def read_model_json(path: Path) -> ModelJSON:
    """Read a megnet model JSON (``CrystalGraph``/``CrystalGraphDisordered`` converter with a
    ``GaussianDistance`` bond converter; other converters are refused)."""
    conf = json.loads(Path(path).read_text())
    gc = conf["graph_converter"]
    if gc.get("@class") not in ("CrystalGraph", "CrystalGraphDisordered"):
        raise ValueError(f"{path}: graph converter {gc.get('@class')} is not supported")
    bc = gc["bond_converter"]
    if bc.get("@class") != "GaussianDistance":
        raise ValueError(f"{path}: bond converter {bc.get('@class')} is not supported")
    centers = bc["centers"]["data"] if isinstance(bc["centers"], dict) else bc["centers"]
    return ModelJSON(
        centers=np.asarray(centers, dtype=np.float64),
        width=float(bc["width"]),
        cutoff=float(gc.get("cutoff", 5.0)),
        scaler=Scaler(conf.get("target_scaler")),
        metadata=conf.get("metadata", {}),
    )
