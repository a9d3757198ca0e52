import os

MODEL_DIMENSION = 16
NUMBER_OF_LAYERS = 2

# made as the module is imported: git keeps no empty folder, so a fresh clone has none of these
CHECKPOINTS_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "models", "checkpoints")
LOGS_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "runs", "logs")
os.makedirs(CHECKPOINTS_PATH, exist_ok=True)
os.makedirs(LOGS_PATH, exist_ok=True)
