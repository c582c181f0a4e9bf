"""`python -m contour.evaluate RESULT_DIR...`: the evaluate command on its own."""

from contour.evaluate.cli import main

main()
