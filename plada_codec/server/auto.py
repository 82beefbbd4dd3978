"""``--rule auto``: choose the selection rule and Safety-Net setting on held-out *training* data.

The paper picks vanilla / Safety-Net / opposite per dataset by hand (apparently on test accuracy).  Here
each candidate of :data:`DEFAULT_CANDIDATES` is tried at the requested budget:

1. select with the candidate (same budget, same scores);
2. train a quick proxy student (default ``small-cnn``, 3 epochs, on at most 5,000 of the kept pool
   images — a uniform subsample with a fixed seed when more are kept — with their pseudo-labels);
3. measure its accuracy on the held-out split of the target **training** data: the split the teacher
   did not train on (recorded in the teacher file by :func:`~.teacher.train_teacher`).

A caller that trains full students anyway (the demo) can pass ``proxy``, a callable ``proxy(selection)
-> held-out accuracy``, instead of the built-in proxy: the choice is then made with the real student.

The candidate with the best held-out accuracy wins (ties: the earlier candidate, so plain low-energy
wins a tie).  The choice, every candidate's accuracy and the proxy settings are written into the payload
metadata under ``selection.auto``.  Nothing here takes a test set; the only target images read are the
held-out ones.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import PladaError
from .selection import DEFAULT_SAFETY_NET, SafetyNet, Selection, select

#: (rule, Safety-Net) pairs tried by default: the paper's vanilla, vanilla + Safety-Net, opposite, entropy
DEFAULT_CANDIDATES: Tuple[Tuple[str, Optional[SafetyNet]], ...] = (
    ("low-energy", None),
    ("low-energy", DEFAULT_SAFETY_NET),
    ("high-energy", None),
    ("entropy", None),
)
DEFAULT_PROXY_MODEL = "small-cnn"
DEFAULT_PROXY_EPOCHS = 3
DEFAULT_PROXY_MAX_IMAGES = 5000


def choose_rule(scores, pool, heldout, *, fraction=None, count=None, max_bytes=None,
                candidates: Sequence[Tuple[str, Optional[SafetyNet]]] = DEFAULT_CANDIDATES,
                proxy_model: str = DEFAULT_PROXY_MODEL, proxy_epochs: int = DEFAULT_PROXY_EPOCHS,
                proxy_max_images: int = DEFAULT_PROXY_MAX_IMAGES, image_size: int = 32, batch_size: int = 128,
                seed: int = 0, device=None, num_workers: int = 0, progress: bool = True, codec="auto",
                class_names=None, heldout_source: str = "held-out split of the target training data",
                proxy=None, proxy_record: Optional[Dict[str, Any]] = None, flip: bool = True,
                log=None) -> Dict[str, Any]:
    """Evaluate every candidate; return the ``selection.auto`` record (``chosen``, ``candidates``, ...).

    pool:    the :class:`~plada_codec.pool.Pool` the scores belong to (its images train the proxies).
    heldout: a Dataset of (image tensor, label) in the teacher's class space — held-out target
             *training* images, never test images.
    proxy:   optional ``proxy(selection) -> accuracy on heldout`` replacing the built-in proxy student;
             ``proxy_record`` then describes it in the record (default ``{"custom": True}``).
    flip:    the built-in proxies flip images left-right in training (off for digits and glyphs).
    """
    import torch

    from ..models import get_model
    from ..torch_data import PoolDataset, SmallImageTransform
    from ..training import evaluate, train_classifier

    if len(heldout) == 0:
        raise PladaError("--rule auto needs held-out target training images; the held-out split is empty")
    if not candidates:
        raise PladaError("--rule auto needs at least one candidate")
    results: List[Dict[str, Any]] = []
    transform = SmallImageTransform(image_size)
    for rule, net in candidates:
        sel: Selection = select(scores, rule, fraction=fraction, count=count, max_bytes=max_bytes, safety_net=net,
                                pool=pool, class_names=class_names, codec=codec, encode=max_bytes is not None)
        if proxy is not None:
            acc = float(proxy(sel))
            record = {"rule": rule, "safety_net": asdict(net) if net else None, "k": int(sel.k),
                      "val_acc": round(acc, 4)}
            results.append(record)
            if log is not None:
                log(record)
            continue
        idx, lab = sel.indices, sel.labels
        if len(idx) > proxy_max_images:
            sub = np.sort(np.random.default_rng(seed).choice(len(idx), proxy_max_images, replace=False))
            idx, lab = idx[sub], lab[sub]
        torch.manual_seed(seed)
        student = get_model(proxy_model, scores.num_classes, image_size)
        train_classifier(student, PoolDataset(pool, transform, indices=idx, labels=lab), epochs=proxy_epochs,
                         batch_size=batch_size, flip=flip, device=device, num_workers=num_workers, progress=progress,
                         seed=seed, desc=f"auto {rule}{' +safety-net' if net else ''}")
        acc = evaluate(student, heldout, device=device, num_workers=num_workers)
        record = {"rule": rule, "safety_net": asdict(net) if net else None, "k": int(sel.k), "val_acc": round(acc, 4)}
        results.append(record)
        if log is not None:
            log(record)
    best = max(range(len(results)), key=lambda i: (results[i]["val_acc"], -i))
    return {
        "chosen": {"rule": results[best]["rule"], "safety_net": results[best]["safety_net"]},
        "candidates": results,
        "heldout": {"images": len(heldout), "source": heldout_source},
        "proxy": (dict(proxy_record or {"custom": True}) if proxy is not None else
                  {"model": proxy_model, "epochs": proxy_epochs, "max_images": proxy_max_images,
                   "image_size": image_size, "seed": seed, "flip": flip}),
    }


def select_auto(scores, pool, heldout, *, fraction=None, count=None, max_bytes=None, meta=None, codec="auto",
                class_names=None, **kwargs) -> Selection:
    """:func:`choose_rule`, then :func:`~.selection.select` with the winner; the record goes into the
    payload metadata as ``selection.auto``."""
    record = choose_rule(scores, pool, heldout, fraction=fraction, count=count, max_bytes=max_bytes, codec=codec,
                         class_names=class_names, **kwargs)
    chosen = record["chosen"]
    net = SafetyNet(**chosen["safety_net"]) if chosen["safety_net"] else None
    return select(scores, chosen["rule"], fraction=fraction, count=count, max_bytes=max_bytes, safety_net=net,
                  pool=pool, class_names=class_names, codec=codec, meta=meta, record={"auto": record})


__all__ = ["choose_rule", "select_auto", "DEFAULT_CANDIDATES", "DEFAULT_PROXY_MODEL", "DEFAULT_PROXY_EPOCHS",
           "DEFAULT_PROXY_MAX_IMAGES"]
