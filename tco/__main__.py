from tco.cli import entry

entry()
