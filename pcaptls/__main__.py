from pcaptls.cli import main

main()
