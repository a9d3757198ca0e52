import torch.distributed.rpc as rpc
from torch import nn


class RemoteEmbedding(nn.Module):
    """Holds a reference to its embedding table on a parameter server, as RPC examples do."""

    def __init__(self):
        super().__init__()
        self.server = rpc.get_worker_info("parameter_server")
        self.head = nn.Linear(8, 2)
