"""llm-d prefill/decode disaggregation as Pulumi components.

Data flows one way: config -> platform -> gateway -> pool -> model servers -> route.
"""
