"""The plugin API: hook specifications, the Rule type, findings, the rule's context, and the host that
loads plugins. The lowest layer: it imports nothing else of archlint's (but `mechanics`)."""
