from liminal_cli.launch import launch

launch("liminal_cli.perfmodel_commands")
