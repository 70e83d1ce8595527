"""plan.json records every resource option that changes the engine's steps, and what transforms on a
Chart or ConfigFile set on its children (probed offline per child type, tools/mock_runtime.py)."""

import pulumi
import pulumi_kubernetes as k8s

from tools.mock_runtime import _RecordingMonitor
from tools.plan.records import record
from tools.plan.steps import plan_steps

WEBHOOK = "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration"


def ignore_failure_policy(args: pulumi.ResourceTransformArgs):
    if args.type_ == WEBHOOK:
        return pulumi.ResourceTransformResult(args.props, pulumi.ResourceOptions.merge(
            args.opts, pulumi.ResourceOptions(ignore_changes=["webhooks[*].failurePolicy"])))
    return None


def _program():
    keep = k8s.core.v1.ConfigMap("keep", metadata={"name": "keep"}, data={"a": "b"})
    k8s.core.v1.ConfigMap(
        "cm", metadata={"name": "cm"}, data={"a": "b"},
        opts=pulumi.ResourceOptions(protect=True, ignore_changes=["data"], replace_on_changes=["metadata"],
                                    retain_on_delete=True, delete_before_replace=True, deleted_with=keep,
                                    aliases=[pulumi.Alias(name="old-cm")],
                                    custom_timeouts=pulumi.CustomTimeouts(create="3m")))
    k8s.helm.v4.Chart("istio-base", chart="base", opts=pulumi.ResourceOptions(transforms=[ignore_failure_policy]))


def _records() -> dict[str, dict]:
    monitor = _RecordingMonitor()
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="p", stack="s", monitor=monitor)
    pulumi.runtime.test(_program)()
    return {r.name: record(r, []) for r in monitor.recorded}


def test_every_engine_option_is_recorded():
    records = _records()
    cm = records["cm"]
    assert cm["options"]["protect"] is True and cm["options"]["retainOnDelete"] is True
    assert cm["options"]["deleteBeforeReplace"] is True
    assert cm["options"]["ignoreChanges"] == ["data"] and cm["options"]["replaceOnChanges"] == ["metadata"]
    assert cm["options"]["deletedWith"] == records["keep"]["urn"]
    assert any("name=old-cm" in a for a in cm["options"]["aliases"])
    assert cm["customTimeouts"] == {"create": "3m"}
    assert records["keep"]["options"]["deleteBeforeReplace"] is None  # not set: the provider decides


def test_what_chart_transforms_ignore_is_recorded():
    chart = _records()["istio-base"]["options"]
    assert chart["remote"] is True and chart["transforms"] == 1
    assert chart["transformEffects"] == {WEBHOOK: {"ignoreChanges": ["webhooks[*].failurePolicy"]}}


def test_the_steps_show_what_a_charts_transforms_ignore():
    chart = _records()["istio-base"]
    changed = {**chart, "inputs": {**chart["inputs"], "version": "1.28.2"}}
    [step] = plan_steps([chart], [changed])
    assert step.step == "update"
    assert any("ValidatingWebhookConfiguration child: ignoreChanges ['webhooks[*].failurePolicy']" in r["reason"]
               for r in step.reasons)
