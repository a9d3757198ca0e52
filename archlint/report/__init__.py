"""Report formats (text, json, sarif, github, html): engine plugins that turn a Report into text."""
