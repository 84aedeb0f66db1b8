from tests.faults.run import cli

cli()
