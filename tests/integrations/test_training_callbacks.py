"""The training-loop callbacks with the real Lightning and Hugging Face Trainer, on tiny models for one step: the
lint runs once on the first real batch, reports to the console and the trainer's logs, leaves the model as it was,
and `fail_on` stops the run before the optimiser has taken a step."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from archlint.integrations.training import ArchitectureCheckFailed, forward_inputs


def _loader() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(16, 3, 16, 16, generator=generator), torch.randint(0, 2, (16,), generator=generator))
    return DataLoader(data, batch_size=8)


# -- Lightning ----------------------------------------------------------------------------------------------------

def _lightning_module(zero_init: bool):
    import lightning.pytorch as L

    class TinyNet(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.hidden = nn.Linear(8, 16)
            self.out = nn.Linear(16, 2)
            if zero_init:
                nn.init.zeros_(self.hidden.weight)
            self.seen_batches = 0

        def forward(self, x):
            return self.out(torch.relu(self.hidden(torch.relu(self.conv(x)).mean(dim=(2, 3)))))

        def training_step(self, batch, batch_idx):
            self.seen_batches += 1
            x, y = batch
            return nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    return TinyNet()


def _trainer(callback, tmp_path, logger=None):
    import lightning.pytorch as L

    return L.Trainer(max_steps=1, callbacks=[callback], logger=logger or False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                     accelerator="cpu", devices=1)


class _Metrics:
    """A Lightning logger that keeps what it is given."""

    def __new__(cls):
        from lightning.pytorch.loggers import Logger

        class Kept(Logger):
            name, version = "kept", 0
            logged: list = []

            def log_metrics(self, metrics, step=None):
                self.logged.append((step, dict(metrics)))

            def log_hyperparams(self, params, *args, **kwargs):
                pass

        return Kept()


def test_lightning_callback_lints_once_on_the_first_batch_and_logs(tmp_path, capsys) -> None:
    from archlint.integrations.lightning import ArchlintCallback

    module, logger = _lightning_module(zero_init=False), _Metrics()
    callback = ArchlintCallback(fail_on="error", select=["constant-init", "large-kernel"])
    _trainer(callback, tmp_path, logger).fit(module, _loader())
    out = capsys.readouterr().out
    assert "archlint: linted TinyNet on the first batch in" in out and "Found 0 finding(s) in 1 model(s)" in out
    assert callback.report.models[0].input_shapes == [[8, 3, 16, 16]]      # the batch's x, not (x, y)
    assert "constant-init" in callback.report.models[0].rules_run
    [(step, metrics)] = [entry for entry in logger.logged if "archlint/findings" in entry[1]]
    assert step == 0 and metrics["archlint/findings"] == 0 and metrics["archlint/lint_seconds"] > 0
    assert module.seen_batches == 1                                      # training went on


def test_lightning_fail_on_stops_before_the_first_step(tmp_path) -> None:
    from archlint.integrations.lightning import ArchlintCallback

    module = _lightning_module(zero_init=True)
    before = copy.deepcopy(module.state_dict())
    with pytest.raises(ArchitectureCheckFailed, match=r"AL101"):
        _trainer(ArchlintCallback(fail_on="error"), tmp_path).fit(module, _loader())
    assert module.seen_batches == 0                                      # no training step ran
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())   # no optimiser step either


def test_lightning_fail_on_none_only_reports(tmp_path, capsys) -> None:
    from archlint.integrations.lightning import ArchlintCallback

    module = _lightning_module(zero_init=True)
    callback = ArchlintCallback(fail_on=None, select=["constant-init"])
    _trainer(callback, tmp_path).fit(module, _loader())
    assert [f.code for f in callback.report.findings] == ["AL101"] and module.seen_batches == 1
    assert "AL101 [error]" in capsys.readouterr().out


# -- Hugging Face ---------------------------------------------------------------------------------------------------

def _bert(zero_init: bool):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, num_labels=2)
    model = BertForSequenceClassification(config)
    if zero_init:   # one constant in both layers of a feed-forward block: its 64 hidden units stay copies
        layer = model.bert.encoder.layer[0]
        nn.init.constant_(layer.intermediate.dense.weight, 0.05)
        nn.init.constant_(layer.output.dense.weight, 0.05)
    return model


class _Tokens(torch.utils.data.Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 64, (16, 12), generator=generator)
        self.labels = torch.randint(0, 2, (16,), generator=generator)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(12, dtype=torch.long), "labels": self.labels[i]}


def _hf_trainer(model, callback, tmp_path):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, report_to=[],
                             save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True)
    return Trainer(model=model, args=args, train_dataset=_Tokens(), callbacks=[callback])


def test_transformers_callback_lints_the_first_batch_as_the_model_receives_it(tmp_path, capsys) -> None:
    from archlint.integrations.transformers import ArchlintCallback

    callback = ArchlintCallback(fail_on="error", select=["constant-init", "dropout-placement"])
    trainer = _hf_trainer(_bert(zero_init=False), callback, tmp_path)
    trainer.train()
    [linted] = callback.report.models
    assert linted.input_shapes == [[8, 12], [8, 12]]                   # input_ids, attention_mask of the batch
    assert "constant-init" in linted.rules_run
    out = capsys.readouterr().out
    assert "keyword inputs not given to the lint: labels, num_items_in_batch" in out and "archlint: linted BertForSequenceClassification" in out
    [logged] = [entry for entry in trainer.state.log_history if "archlint/findings" in entry]
    assert logged["step"] == 0 and logged["archlint/lint_seconds"] > 0
    assert trainer.state.global_step == 1


def test_transformers_fail_on_stops_before_the_optimiser_step(tmp_path) -> None:
    from archlint.integrations.transformers import ArchlintCallback

    model = _bert(zero_init=True)
    before = copy.deepcopy(model.state_dict())
    trainer = _hf_trainer(model, ArchlintCallback(fail_on="error", select=["constant-init"]), tmp_path)
    with pytest.raises(ArchitectureCheckFailed, match=r"AL101"):
        trainer.train()
    assert trainer.state.global_step == 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_keyword_batches_become_positional_inputs_in_the_forwards_order() -> None:
    class Net(nn.Module):
        def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
            return input_ids

    ids, mask = torch.zeros(2, 3), torch.ones(2, 3)
    assert forward_inputs(Net(), (), {"attention_mask": mask, "input_ids": ids, "labels": ids}) == ((ids, mask), ["labels"])
    assert forward_inputs(Net(), (ids,), {}) == ((ids,), [])
