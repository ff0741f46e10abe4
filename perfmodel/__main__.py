from liminal_cli.startup import launch

launch("liminal_cli.perfmodel_commands")
