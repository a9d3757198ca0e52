"""A toy environment and the usual thunk-returning `make_env` of RL scripts (named like a factory, returns a closure)."""


class ToyEnv:
    def __init__(self, seed: int):
        self.seed = seed
        self.observation_size = 6
        self.actions = 3


def make_env(env_id, seed):
    def thunk():
        return ToyEnv(seed)
    return thunk
