"""Changes the local cloud makes to the machine outside its state directory, each one recorded and undone."""
