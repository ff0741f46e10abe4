from perfmodel.cli import entry

entry()
