"""N+1 detection with the exact fix: ORM hooks and SQL fingerprints, merged.

Public API (see :mod:`dbtune.nplusone.api` for the details)::

    with dbtune.nplusone.detect(threshold=2) as report:
        ...
    report.findings          # list of Finding

    with dbtune.nplusone.allow("testapp.Book.author"):
        ...

The package only re-exports; importing it applies no hook (hooks exist only while a
``detect()`` block, request or test is active).
"""

from __future__ import annotations

from dbtune.nplusone.actions import NPlusOneError, NPlusOneWarning, finding_detected
from dbtune.nplusone.api import allow, detect, run
from dbtune.nplusone.detectors import Detector, register_detector, registered_detectors
from dbtune.nplusone.eager import UnusedEagerDetector
from dbtune.nplusone.findings import KINDS, EagerUse, Finding, Report
from dbtune.nplusone.fingerprints import FingerprintDetector
from dbtune.nplusone.orm import OrmDetector

__all__ = [
    "KINDS",
    "Detector",
    "EagerUse",
    "Finding",
    "FingerprintDetector",
    "NPlusOneError",
    "NPlusOneWarning",
    "OrmDetector",
    "Report",
    "UnusedEagerDetector",
    "allow",
    "detect",
    "finding_detected",
    "register_detector",
    "registered_detectors",
    "run",
]
