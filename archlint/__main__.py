from archlint.cli import console

console()
