import argparse

from agents import Agent
from envs import make_env

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--num-envs", type=int, default=4)
args = parser.parse_args()

envs = [make_env("Toy-v0", args.seed + i) for i in range(args.num_envs)]
agents = [Agent(env()) for env in envs]
