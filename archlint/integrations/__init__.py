"""archlint where models are written and trained: Jupyter (`%load_ext archlint`), Lightning and Hugging Face
training loops (`ArchlintCallback`), and coding agents (`archlint mcp`, a Model Context Protocol server).

Each module imports the framework it serves only when it is used, so `import archlint` stays light.
"""
