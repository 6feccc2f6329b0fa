#!/usr/bin/env python3
"""Replaces the text between <!-- NAME:begin --> and <!-- NAME:end --> in a
Markdown file with the content of a file (markers appended when missing);
the rest of the file is kept as it is.

Usage: results_md.py RESULTS.md NAME CONTENT_FILE
"""
import sys


def main():
    path, name, content_file = sys.argv[1:4]
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    with open(content_file) as f:
        body = f.read().strip("\n")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    block = f"{begin}\n{body}\n{end}"
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
