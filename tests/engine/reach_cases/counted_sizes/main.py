import argparse

from text.model import TextClassifier


class Vocab(dict):
    @classmethod
    def load(cls, path):
        with open(path) as lines:
            return cls((word.strip(), i) for i, word in enumerate(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab_path", default="corpus/vocab.txt")
    parser.add_argument("--dim", type=int, default=24)
    args = parser.parse_args()
    vocab = Vocab.load(args.vocab_path)
    model = TextClassifier(len(vocab), dim=args.dim)
    return model


if __name__ == "__main__":
    main()
