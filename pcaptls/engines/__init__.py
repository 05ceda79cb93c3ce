"""Other ways to build the tables than the native reader, for what it cannot read.

:mod:`pcaptls.engines.tshark` builds the connections, messages and certificates tables
from tshark's dissection (through pyshark); :mod:`pcaptls.crosscheck` compares it with
the native reader.
"""

from __future__ import annotations
