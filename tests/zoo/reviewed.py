"""The zoo's reviewed verdicts: the findings the project stands by on published architectures, the false alarms
still open, and the CI sample. tests/zoo/test_zoo_sample.py holds every sample model to exactly these findings;
benchmarks/zoo.py marks each finding of a sweep's table as expected, known false alarm or unreviewed with them.
"""
from __future__ import annotations

# Findings a careful reviewer keeps: model -> {(code, module)}. Reviewed on the CI sample (2026-12-02):
# VGG/AlexNet heads, kernels and plain depth are the lessons' own examples; missing-bottleneck (info) on the
# full-width 3×3 convs of basic-block ResNets and VGG is the 1×1 lesson's trade, said as a suggestion.
_RESNET18_WIDE = {("AL601", m) for m in ("layer3.0.conv2", "layer3.1.conv1", "layer3.1.conv2", "layer4.0.conv1",
                                         "layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2")}
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "torchvision:alexnet": {("AL301", "classifier.1"), ("AL501", "features.3"), ("AL601", "features.8"),
                            ("AL601", "features.10")},
    "torchvision:vgg11": {("AL301", "classifier.0"), ("AL401", "features.0"),
                          *{("AL601", f"features.{i}") for i in (8, 11, 13, 16, 18)}},
    "torchvision:resnet18": _RESNET18_WIDE,
    "torchvision:r3d_18": {(code, module.replace("conv1", "conv1.0").replace("conv2", "conv2.0"))
                           for code, module in _RESNET18_WIDE},
    "torchvision:fcn_resnet50": {("AL601", "classifier.0"), ("AL704", "classifier.3")},
}

# Reviewed by family for the sweep's table (the CI sample above is pinned module by module): model-name
# pattern, code. VGG's and AlexNet's heads, plain depth and big kernels are the lessons' own examples;
# missing-bottleneck (info) prices a 1×1-reduce/3×3/1×1-expand block for a full-width 3×3 conv, the 1×1
# lesson's trade said as a suggestion; element-wise dropout on a 2-D map (info) before a segmentation
# classifier is the Dropout2d lesson.
EXPECTED_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(torchvision|timm):(vgg\d+(_bn)?|alexnet)", "AL301"), (r"(torchvision|timm):vgg\d+(_bn)?", "AL401"),
    (r"torchvision:alexnet", "AL501"), (r".*", "AL601"), (r".*", "AL704"),
    # DeepLabV3's ASPP projection ends in Dropout(0.5), then a 3×3 conv and BatchNorm: the dropout/BN lesson
    (r"torchvision:deeplabv3_.*", "AL702"),
    # Reviewed 2026-12-06 (held-out zoos). Hugging Face's EfficientNet initialises every BatchNorm weight from
    # N(0, 0.02) (its `_init_weights`), so each norm scales the signal by ~0.02: weight gradients of 1e-26 to 1e-30,
    # measured; the vanishing ratio is the model as built.
    (r"hf:efficientnet", "AL802"),
    # wav2vec2-style feature encoders (SEW, data2vec-audio): seven plain convs, the feature projection and the
    # positional conv, 13-15 layers with no merge, the first getting 0.12-0.18x the signal of the last (measured).
    (r"hf:(sew|data2vec-audio)", "AL401"),
    # DPT for depth estimation never uses the backbone's final layernorm nor the first fusion layer's residual
    # unit (the deepest level has no residual input): their parameters never get a gradient.
    (r"hf:dpt", "AL801"),
)

# Findings the project does not stand by, still raised: open bugs (issue 12), kept visible until fixed.
KNOWN_FALSE_ALARMS: dict[str, set[tuple[str, str]]] = {
    # the formula does not model Sequencer's row/column LSTMs (they mix every position of a row or column), so it
    # reads 14×14 px at the last map. Linted alone (one process) the rule is silent: its measured field covers the
    # target. In two --warm sweeps of 2026-12-02, both with three processes on 2 cores, the finding stood; a third,
    # quieter warm run was clean. Why the measurement did not silence it is not known yet (rows now keep the
    # finding's "not measured" lines)
    "timm:sequencer2d_s": {("AL201", "stages.3.downsample.down")},
}


# The CI sample: diverse on purpose (tests/zoo/test_zoo_sample.py).
SAMPLE = (
    "torchvision:alexnet", "torchvision:vgg11", "torchvision:resnet18", "torchvision:densenet121",
    "torchvision:mobilenet_v3_small", "torchvision:efficientnet_b0", "torchvision:convnext_tiny",
    "torchvision:swin_t", "torchvision:vit_b_16", "torchvision:regnet_y_400mf", "torchvision:shufflenet_v2_x0_5",
    "torchvision:fcn_resnet50", "torchvision:r3d_18", "timm:mixer_s16_224", "timm:mobilevit_xxs",
    "hf:bert", "hf:gpt2", "hf:llama", "hf:convnext", "hf:vit", "hf:swin", "hf:distilbert",
)
