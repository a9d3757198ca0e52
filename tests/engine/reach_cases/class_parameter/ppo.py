"""The algorithm takes the network's class as a parameter, its default the repository's own."""
import types

import core


def make_env():
    return types.SimpleNamespace(observations=6, actions=2)


def ppo(env_fn, actor_critic=core.ActorCritic, ac_kwargs=dict(), epochs=50):
    env = env_fn()
    ac = actor_critic(env.observations, env.actions, **ac_kwargs)
    for epoch in range(epochs):
        ac.zero_grad()


if __name__ == "__main__":
    ppo(make_env, ac_kwargs=dict(hidden=16))
