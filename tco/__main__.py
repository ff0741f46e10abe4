from perfmodel.launch import launch

launch("tco.cli")
