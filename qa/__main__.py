from qa.cli import main

main(prog_name="qa")
