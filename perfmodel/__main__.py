from perfmodel.launch import launch

launch("perfmodel.cli")
