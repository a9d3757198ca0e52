"""The vocabulary is made by a preprocessing step from a dataset the README says to download into data/."""
import json

from model import Tagger

with open("data/vocab.json") as handle:
    vocab = json.load(handle)
model = Tagger(vocab["size"], tags=5)
