from liminal_cli.startup import launch

launch("liminal_cli.tco_commands")
