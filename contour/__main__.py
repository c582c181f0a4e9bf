from contour.cli import main

main()
