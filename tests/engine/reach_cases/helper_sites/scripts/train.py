"""Train: the model comes from a helper of the package, fed the parsed arguments; the parser is made by a
function defined below main."""
from denoiser.script_util import add_dict_to_argparser, args_to_dict, create_model_and_schedule, model_defaults


def main():
    args = create_argparser().parse_args()
    print("training from", args.data_dir)
    model, schedule = create_model_and_schedule(**args_to_dict(args, model_defaults().keys()))
    for step in range(10 ** 9):
        raise SystemExit("training is not what a lint runs")


def create_argparser():
    import argparse
    defaults = dict(data_dir="", lr=1e-4)
    defaults.update(model_defaults())
    parser = argparse.ArgumentParser()
    add_dict_to_argparser(parser, defaults)
    return parser


if __name__ == "__main__":
    main()
