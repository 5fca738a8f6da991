"""What Airflow reads about this provider (entry point ``apache_airflow_provider``).

Kept free of imports beyond the package version so ``airflow providers list`` and the
Airflow 3 connection form never import the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_bailian import __version__

#: The allowed values of the two drop-downs (``protocol.ApiStyle`` and ``protocol.REGIONS``;
#: a test keeps them equal). Literal here: this module imports nothing of the provider.
API_STYLES = ("gateway", "dashscope")
REGIONS = ("cn-beijing", "ap-southeast-1", "us-east-1", "cn-hongkong")

#: The connection form's extra fields (Airflow 3 reads them here, 2.11 through the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "api_style": {
        "label": "API style",
        "description": "gateway (POST /task/bailian/text2video) or dashscope (Alibaba's /api/v1 "
        "endpoints). Empty: inferred from the host.",
        "schema": {
            "type": ["string", "null"],
            "enum": [None, *API_STYLES],
            "values_display": {"null": "(inferred from the host)"},
        },
    },
    "region": {
        "label": "DashScope region",
        "description": "cn-beijing, ap-southeast-1 (Singapore), us-east-1 (Virginia) or "
        "cn-hongkong (workspace domain only); used when Base URL is empty.",
        "schema": {
            "type": ["string", "null"],
            "enum": [None, *REGIONS],
            "values_display": {
                "null": "(from the Base URL, else cn-beijing)",
                "cn-beijing": "cn-beijing (Beijing)",
                "ap-southeast-1": "ap-southeast-1 (Singapore)",
                "us-east-1": "us-east-1 (Virginia)",
                "cn-hongkong": "cn-hongkong (Hong Kong)",
            },
        },
    },
    "workspace": {
        "label": "Workspace ID",
        "description": "Optional Model Studio workspace (X-DashScope-WorkSpace header).",
        "schema": {"type": ["string", "null"]},
    },
    "workspace_domain": {
        "label": "Use the workspace domain",
        "description": "true: the Base URL is https://{workspace}.{region}.maas.aliyuncs.com "
        "(Alibaba's recommended host; needs Workspace ID and region), when Base URL is empty.",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
    "timeout": {
        "label": "Read timeout (s)",
        "description": "Seconds to wait for an answer.",
        "schema": {"type": ["number", "null"], "default": 60},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a status query on timeouts, 429 and 5xx. An ambiguous "
        "submission is never resent.",
        "schema": {"type": ["integer", "null"], "default": 5},
    },
    "query_rate_limit": {
        "label": "Query rate limit (per second)",
        "description": "Status queries per second shared by every wait on this API key "
        "(DashScope allows 20 per account).",
        "schema": {"type": ["number", "null"], "default": 10},
    },
    "list_interval": {
        "label": "Task list interval (s)",
        "description": "DashScope style: waits on this key share one read of the task list "
        "every this many seconds while a video may be finishing, so a finished video is seen "
        "within about this long.",
        "schema": {"type": ["number", "null"], "default": 5},
    },
}

#: Hidden, relabelled and hinted standard fields (the hook gives 2.11 the same).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"host": "Base URL", "password": "API key"},
    "placeholders": {
        "host": "https://dashscope-intl.aliyuncs.com or https://api.gpt.ge (empty: by API style)",
        "password": "sk-...",
        # Airflow 2.11's form has no drop-downs for provider fields: text with a hint there.
        "api_style": "gateway | dashscope",
        "region": "cn-beijing | ap-southeast-1 | us-east-1 | cn-hongkong",
    },
}


_ROOTS_SYNTAX = (
    "Local folders and object-storage prefixes, separated by commas or new lines. A local path "
    "is resolved (symlinks, ..) and must lie inside a folder; a URL must start with a prefix "
    "and may not name a connection of its own: the prefix says which connection reads it "
    "(s3://aws_videos@bucket/videos/)."
)

#: ``[bailian]`` options (``storage_roots.py`` reads them; a test keeps the names equal).
_CONFIG: dict[str, Any] = {
    "bailian": {
        "description": "Options of the Alibaba Cloud Bailian provider.",
        "options": {
            "gallery_roots": {
                "description": "Where the api-server may read stored videos (video_path XComs) "
                "for the Bailian videos gallery. Empty: none is read, tiles play the signed "
                "URL while it is valid. " + _ROOTS_SYNTAX,
                "version_added": None,
                "type": "string",
                "example": "/data/bailian-videos, s3://aws_videos@my-bucket/bailian/",
                "default": "",
            },
            "input_roots": {
                "description": "Where workers may read image inputs given as a path or "
                "object-storage URL (templated, so a run conf can set them). Empty: any file "
                "the worker can read. " + _ROOTS_SYNTAX,
                "version_added": None,
                "type": "string",
                "example": "/data/bailian-images, s3://aws_images@my-bucket/inputs/",
                "default": "",
            },
        },
    }
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-bailian",
        "name": "Alibaba Cloud Bailian",
        "description": "Alibaba Cloud Bailian (Model Studio / DashScope) Wan video generation: text, image "
        "(first and last frame), reference to video, video editing and speech to video.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Alibaba Cloud Bailian",
                "external-doc-url": "https://www.alibabacloud.com/help/en/model-studio/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Alibaba Cloud Bailian",
                "python-modules": ["airflow_provider_bailian.hooks.bailian"],
            }
        ],
        "operators": [
            {
                "integration-name": "Alibaba Cloud Bailian",
                "python-modules": [
                    "airflow_provider_bailian.operators.text2video",
                    "airflow_provider_bailian.operators.image2video",
                    "airflow_provider_bailian.operators.reference2video",
                    "airflow_provider_bailian.operators.video_edit",
                    "airflow_provider_bailian.operators.speech2video",
                    "airflow_provider_bailian.operators.download",
                    "airflow_provider_bailian.operators.plan",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Alibaba Cloud Bailian",
                "python-modules": ["airflow_provider_bailian.sensors.task"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Alibaba Cloud Bailian",
                "python-modules": ["airflow_provider_bailian.triggers.task"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "bailian",
                "hook-class-name": "airflow_provider_bailian.hooks.bailian.BailianHook",
                "hook-name": "Alibaba Cloud Bailian",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": ["airflow_provider_bailian.links.video.BailianVideoLink"],
        "config": _CONFIG,
    }
