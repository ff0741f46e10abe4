"""CSV export that spreadsheet programs cannot turn into formulas: the one writer of
:mod:`perfmodel.export`, under the name the app and the economics commands import."""

from perfmodel.export import frame_bytes, neutralize, safe_csv, write_output

__all__ = ["frame_bytes", "neutralize", "safe_csv", "write_output"]
