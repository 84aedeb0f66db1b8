from registers.cli import main

main()
