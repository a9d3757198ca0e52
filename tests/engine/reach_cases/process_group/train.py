import torch.distributed as dist

from net import Net


def init_distributed(port=29531):
    # as multi-GPU scripts do: a group when the launcher's store answers, one process otherwise
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", world_size=1, rank=0)
        return dist.get_world_size()
    except Exception:
        return 1


if __name__ == "__main__":
    world_size = init_distributed()
    model = Net(width=32 // world_size)
