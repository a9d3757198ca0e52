from .model import Classifier
