from palate.cli.app import main

main()
