"""τ²-bench's telecom domain: the gold replay of every ``base`` task, how the carrier's database and the
user's phone are kept in step, the text of the tools, their errors, the policy and the real command.

Expected values come from τ²-bench's own telecom code (``TelecomTools``, ``TelecomUserTools``,
``TelecomEnvironment.sync_tools`` and the ``Environment`` and evaluator functions that drive them) run on
the shared data outside this project, or were read off that code; the comments say which quirk a value
shows.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.domains import TOOLKITS, toolkit_for
from evalharness.adapters.tau.domains.telecom import TelecomTools
from evalharness.adapters.tau.toolkit import load_data_file
from evalharness.errors import DataError
from evalharness.tools import ToolError
from tests.adapters.tau.test_evaluator import evalharness

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "tau2" / "telecom"
TASKS: list[dict[str, Any]] = json.loads((DATA / "tasks.json").read_text(encoding="utf-8"))
BASE_IDS: list[str] = json.loads((DATA / "split_tasks.json").read_text(encoding="utf-8"))["base"]
BASE = [task for task in TASKS if task["id"] in set(BASE_IDS)]

# Per base task, from τ²-bench's telecom environment on the shared data (its initialisation actions, then
# the gold actions), two replays of six values:
#   1-3: τ²-bench's evaluator (``replay_golden_actions``: ``make_tool_call``, no sync): the state, the tool
#        results, and which env assertions then hold (one digit each, in order; each assertion syncs after it);
#   4-6: a conversation making the gold calls (``get_response``: a sync after each call, and the sync that
#        ends ``set_state``): the same three values.
# A state is sha256 of json.dumps({"db": ..., "user_db": ...}, sort_keys=True, separators=(",", ":")) of the
# two databases' model_dump(mode="json"); results are sha256 of the tool messages joined by \x1e. Both are
# cut to 16 hex digits.
TAU2_GOLD: dict[str, tuple[str, str, str, str, str, str]] = {
    "[mobile_data_issue]airplane_mode_on|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("c0cc0407f867d728", "feb84411de9b4028", "11", "c0cc0407f867d728", "feb84411de9b4028", "11"),
    "[mobile_data_issue]airplane_mode_on|data_mode_off[PERSONA:None]":
        ("f54d0862eb9e6ac7", "fb06d29082334d6d", "11", "f54d0862eb9e6ac7", "fb06d29082334d6d", "11"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference[PERSONA:Hard]":
        ("f54d0862eb9e6ac7", "04f457b3686e6c52", "11", "f54d0862eb9e6ac7", "04f457b3686e6c52", "11"),
    "[mobile_data_issue]data_saver_mode_on|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("c0cc0407f867d728", "0a1ce395b958142f", "11", "c0cc0407f867d728", "0a1ce395b958142f", "11"),
    "[mobile_data_issue]bad_network_preference|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("c0cc0407f867d728", "6c26fc59708ba6fa", "11", "c0cc0407f867d728", "6c26fc59708ba6fa", "11"),
    "[mobile_data_issue]data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("e085cd99e471af30", "c1632bc4597ae754", "011", "588d48315146cf79", "c1632bc4597ae754", "111"),
    "[mobile_data_issue]data_mode_off|data_usage_exceeded[PERSONA:None]":
        ("6d00d7a4832e3e2b", "8b6b1a1b1dac45eb", "011", "184b39767df77853", "8b6b1a1b1dac45eb", "111"),
    "[mobile_data_issue]data_saver_mode_on|data_usage_exceeded[PERSONA:Easy]":
        ("aa4cab5567f4f8b7", "24d96df39f790cd7", "011", "0063d5449ce2011f", "24d96df39f790cd7", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("c0cc0407f867d728", "2b2d553a7de65cb6", "11", "c0cc0407f867d728", "2b2d553a7de65cb6", "11"),
    "[mobile_data_issue]airplane_mode_on|data_saver_mode_on|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("1206fc1fb7b27e8d", "3ebd1694f4427e98", "01", "c0cc0407f867d728", "3ebd1694f4427e98", "11"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("c0cc0407f867d728", "437545fb428d6d2f", "11", "c0cc0407f867d728", "437545fb428d6d2f", "11"),
    "[mobile_data_issue]bad_vpn|data_saver_mode_on|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("1206fc1fb7b27e8d", "ef1bae7b180cfd21", "01", "c0cc0407f867d728", "ef1bae7b180cfd21", "11"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("1206fc1fb7b27e8d", "84ac1227210672c5", "01", "c0cc0407f867d728", "84ac1227210672c5", "11"),
    "[mobile_data_issue]data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("cb7cdb4bb3f2c7ac", "ffcdc4bb75345a39", "011", "588d48315146cf79", "ffcdc4bb75345a39", "111"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "b7331f4f968ef1f8", "01", "c0cc0407f867d728", "b7331f4f968ef1f8", "11"),
    "[mobile_data_issue]bad_network_preference|data_saver_mode_on|data_usage_exceeded[PERSONA:Hard]":
        ("6d00d7a4832e3e2b", "e7b1bca7e594dca3", "011", "184b39767df77853", "e7b1bca7e594dca3", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_mode_off|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "f8f70516e185d10a", "01", "c0cc0407f867d728", "f8f70516e185d10a", "11"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("cb7cdb4bb3f2c7ac", "97f9c130c1c64634", "011", "588d48315146cf79", "97f9c130c1c64634", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_mode_off|data_saver_mode_on[PERSONA:Hard]":
        ("f54d0862eb9e6ac7", "2ccf4cf38499c034", "11", "f54d0862eb9e6ac7", "2ccf4cf38499c034", "11"),
    "[mobile_data_issue]bad_vpn|data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "7d1a6604f27ef769", "011", "588d48315146cf79", "7d1a6604f27ef769", "111"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("cb7cdb4bb3f2c7ac", "eddea9d549fd5701", "011", "588d48315146cf79", "eddea9d549fd5701", "111"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on[PERSONA:None]":
        ("f54d0862eb9e6ac7", "3efaf701420b31b8", "11", "f54d0862eb9e6ac7", "3efaf701420b31b8", "11"),
    "[mobile_data_issue]airplane_mode_on|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("e085cd99e471af30", "8eb39d158a40e9a7", "011", "588d48315146cf79", "8eb39d158a40e9a7", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "ef1abf44fdeaffe9", "011", "588d48315146cf79", "ef1abf44fdeaffe9", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_saver_mode_on|user_abroad_roaming_disabled_on[PERSONA:Easy]":
        ("1206fc1fb7b27e8d", "a9f310eaf6dcbb8a", "01", "c0cc0407f867d728", "a9f310eaf6dcbb8a", "11"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "0f0adaa6a7f025f4", "011", "588d48315146cf79", "0f0adaa6a7f025f4", "111"),
    "[mobile_data_issue]bad_network_preference|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("cb7cdb4bb3f2c7ac", "51553df5ce7971dc", "011", "588d48315146cf79", "51553df5ce7971dc", "111"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("cb7cdb4bb3f2c7ac", "a8bb188c27594011", "011", "588d48315146cf79", "a8bb188c27594011", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_mode_off|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("e085cd99e471af30", "1b85c856b0e76772", "011", "588d48315146cf79", "1b85c856b0e76772", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("e085cd99e471af30", "571a85e13bdbc2a0", "011", "588d48315146cf79", "571a85e13bdbc2a0", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "660ba6cee986df74", "011", "588d48315146cf79", "660ba6cee986df74", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "4b6fc298149b0255", "01", "c0cc0407f867d728", "4b6fc298149b0255", "11"),
    "[mobile_data_issue]bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("e085cd99e471af30", "c1355e1a5031f684", "011", "588d48315146cf79", "c1355e1a5031f684", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("e085cd99e471af30", "f6519290af52e9aa", "011", "588d48315146cf79", "f6519290af52e9aa", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "f22cca72d1a150bc", "011", "588d48315146cf79", "f22cca72d1a150bc", "111"),
    "[mobile_data_issue]airplane_mode_on|bad_network_preference|bad_vpn|data_mode_off|data_saver_mode_on|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("cb7cdb4bb3f2c7ac", "9d3ecb82226c68ab", "011", "588d48315146cf79", "9d3ecb82226c68ab", "111"),
    "[service_issue]airplane_mode_on|unseat_sim_card[PERSONA:None]":
        ("f54d0862eb9e6ac7", "d8f958a6fa9ca429", "11", "f54d0862eb9e6ac7", "d8f958a6fa9ca429", "11"),
    "[service_issue]airplane_mode_on|lock_sim_card_pin[PERSONA:Easy]":
        ("e167435929cd07e2", "bccdc18e7b6ac085", "1", "e167435929cd07e2", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings[PERSONA:Hard]":
        ("f54d0862eb9e6ac7", "6e26564e65a051f3", "11", "f54d0862eb9e6ac7", "6e26564e65a051f3", "11"),
    "[service_issue]airplane_mode_on|overdue_bill_suspension[PERSONA:None]":
        ("9da540bbb5eba77f", "4df45b1485e9b32a", "00", "a4b871623ecfe321", "cfcd8eb117d40fb4", "11"),
    "[service_issue]overdue_bill_suspension|unseat_sim_card[PERSONA:Easy]":
        ("9da540bbb5eba77f", "4cdc9fc9241061c4", "00", "a4b871623ecfe321", "414118a15051d743", "11"),
    "[service_issue]contract_end_suspension|unseat_sim_card[PERSONA:Hard]":
        ("6ed1bcaeeeb458bf", "bccdc18e7b6ac085", "1", "6ed1bcaeeeb458bf", "bccdc18e7b6ac085", "1"),
    "[service_issue]break_apn_settings|lock_sim_card_pin[PERSONA:None]":
        ("ba9268a76e56c48a", "bccdc18e7b6ac085", "1", "ba9268a76e56c48a", "bccdc18e7b6ac085", "1"),
    "[service_issue]lock_sim_card_pin|overdue_bill_suspension[PERSONA:Easy]":
        ("e5b33fc72f823bc8", "bccdc18e7b6ac085", "1", "e5b33fc72f823bc8", "bccdc18e7b6ac085", "1"),
    "[service_issue]contract_end_suspension|lock_sim_card_pin[PERSONA:Hard]":
        ("c41e6fbadef7e568", "bccdc18e7b6ac085", "1", "c41e6fbadef7e568", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|lock_sim_card_pin|unseat_sim_card[PERSONA:Hard]":
        ("aabb6f65b9333e55", "bccdc18e7b6ac085", "1", "aabb6f65b9333e55", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|unseat_sim_card[PERSONA:None]":
        ("f54d0862eb9e6ac7", "16f3da6b769c2d53", "11", "f54d0862eb9e6ac7", "16f3da6b769c2d53", "11"),
    "[service_issue]airplane_mode_on|overdue_bill_suspension|unseat_sim_card[PERSONA:Easy]":
        ("9da540bbb5eba77f", "484c7648376c4680", "00", "a4b871623ecfe321", "130cb3c1827bb9a3", "11"),
    "[service_issue]airplane_mode_on|break_apn_settings|lock_sim_card_pin[PERSONA:None]":
        ("05f52a322ad799fb", "bccdc18e7b6ac085", "1", "05f52a322ad799fb", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|lock_sim_card_pin|overdue_bill_suspension[PERSONA:Easy]":
        ("f281441f9bc0d18c", "bccdc18e7b6ac085", "1", "f281441f9bc0d18c", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|overdue_bill_suspension[PERSONA:None]":
        ("9da540bbb5eba77f", "00a4f9f3d63d13c0", "00", "a4b871623ecfe321", "bb401bdca55d6861", "11"),
    "[service_issue]break_apn_settings|overdue_bill_suspension|unseat_sim_card[PERSONA:Hard]":
        ("9da540bbb5eba77f", "e5729fb3b3704ee1", "00", "a4b871623ecfe321", "4c11920cfda71daa", "11"),
    "[service_issue]break_apn_settings|lock_sim_card_pin|overdue_bill_suspension[PERSONA:Easy]":
        ("a251559d4ee09f53", "bccdc18e7b6ac085", "1", "a251559d4ee09f53", "bccdc18e7b6ac085", "1"),
    "[service_issue]break_apn_settings|contract_end_suspension|lock_sim_card_pin[PERSONA:Hard]":
        ("2fbb9c3ccd3cfe5b", "bccdc18e7b6ac085", "1", "2fbb9c3ccd3cfe5b", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|lock_sim_card_pin|unseat_sim_card[PERSONA:None]":
        ("8d1a4d2011b367f3", "bccdc18e7b6ac085", "1", "8d1a4d2011b367f3", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|lock_sim_card_pin|overdue_bill_suspension|unseat_sim_card[PERSONA:Easy]":
        ("e3d45860b14c5dd2", "bccdc18e7b6ac085", "1", "e3d45860b14c5dd2", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|contract_end_suspension|lock_sim_card_pin|unseat_sim_card[PERSONA:Hard]":
        ("8d1caa38ca5578c7", "bccdc18e7b6ac085", "1", "8d1caa38ca5578c7", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|overdue_bill_suspension|unseat_sim_card[PERSONA:None]":
        ("9da540bbb5eba77f", "04726e1a022bd974", "00", "a4b871623ecfe321", "5016930c9691285b", "11"),
    "[service_issue]airplane_mode_on|break_apn_settings|contract_end_suspension|unseat_sim_card[PERSONA:Easy]":
        ("8222a1941449dd8a", "bccdc18e7b6ac085", "1", "8222a1941449dd8a", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|lock_sim_card_pin|overdue_bill_suspension[PERSONA:Hard]":
        ("9f4ca93dd871ad43", "bccdc18e7b6ac085", "1", "9f4ca93dd871ad43", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|contract_end_suspension|lock_sim_card_pin[PERSONA:None]":
        ("620db7fdb314b334", "bccdc18e7b6ac085", "1", "620db7fdb314b334", "bccdc18e7b6ac085", "1"),
    "[service_issue]break_apn_settings|lock_sim_card_pin|overdue_bill_suspension|unseat_sim_card[PERSONA:Easy]":
        ("1f93acb9ffd722da", "bccdc18e7b6ac085", "1", "1f93acb9ffd722da", "bccdc18e7b6ac085", "1"),
    "[service_issue]break_apn_settings|contract_end_suspension|lock_sim_card_pin|unseat_sim_card[PERSONA:Hard]":
        ("2c2efc6eccdacafb", "bccdc18e7b6ac085", "1", "2c2efc6eccdacafb", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|lock_sim_card_pin|overdue_bill_suspension|unseat_sim_card[PERSONA:None]":
        ("c2d6201aec60de79", "bccdc18e7b6ac085", "1", "c2d6201aec60de79", "bccdc18e7b6ac085", "1"),
    "[service_issue]airplane_mode_on|break_apn_settings|contract_end_suspension|lock_sim_card_pin|unseat_sim_card[PERSONA:Easy]":
        ("c84d3570bf8092ed", "bccdc18e7b6ac085", "1", "c84d3570bf8092ed", "bccdc18e7b6ac085", "1"),
    "[mms_issue]airplane_mode_on|break_app_both_permissions[PERSONA:Hard]":
        ("f54d0862eb9e6ac7", "da9f96a38e065f2f", "1", "f54d0862eb9e6ac7", "da9f96a38e065f2f", "1"),
    "[mms_issue]break_app_sms_permission|data_mode_off[PERSONA:None]":
        ("f54d0862eb9e6ac7", "b2b9bea381b3b82b", "1", "f54d0862eb9e6ac7", "b2b9bea381b3b82b", "1"),
    "[mms_issue]break_app_storage_permission|data_usage_exceeded[PERSONA:Easy]":
        ("aa4cab5567f4f8b7", "76527d0d2c417680", "01", "0063d5449ce2011f", "76527d0d2c417680", "11"),
    "[mms_issue]break_app_both_permissions|data_usage_exceeded[PERSONA:Hard]":
        ("aa4cab5567f4f8b7", "05fdb8bc463d410f", "01", "0063d5449ce2011f", "05fdb8bc463d410f", "11"),
    "[mms_issue]break_apn_mms_setting|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("c0cc0407f867d728", "87954fa23f7dddad", "1", "c0cc0407f867d728", "87954fa23f7dddad", "1"),
    "[mms_issue]bad_network_preference|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("1206fc1fb7b27e8d", "34fd274b41437230", "0", "c0cc0407f867d728", "34fd274b41437230", "1"),
    "[mms_issue]bad_network_preference|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("1206fc1fb7b27e8d", "7fea6aab651dab79", "0", "c0cc0407f867d728", "7fea6aab651dab79", "1"),
    "[mms_issue]bad_network_preference|break_app_both_permissions[PERSONA:Easy]":
        ("f54d0862eb9e6ac7", "01ed9ec9b6ef9792", "1", "f54d0862eb9e6ac7", "01ed9ec9b6ef9792", "1"),
    "[mms_issue]airplane_mode_on|bad_network_preference|data_usage_exceeded[PERSONA:None]":
        ("6d00d7a4832e3e2b", "70f0edee08ae0435", "01", "184b39767df77853", "70f0edee08ae0435", "11"),
    "[mms_issue]airplane_mode_on|bad_wifi_calling|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("3853ae1b7e91f4ae", "04db1a4ad1305069", "1", "3853ae1b7e91f4ae", "04db1a4ad1305069", "1"),
    "[mms_issue]break_app_storage_permission|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Easy]":
        ("1206fc1fb7b27e8d", "294ef0c30637dd9d", "0", "c0cc0407f867d728", "294ef0c30637dd9d", "1"),
    "[mms_issue]break_app_both_permissions|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "5869e644b68817d6", "0", "c0cc0407f867d728", "5869e644b68817d6", "1"),
    "[mms_issue]bad_wifi_calling|data_mode_off|data_usage_exceeded[PERSONA:Easy]":
        ("9fdbdc4402f63ae1", "8ecea37d5c8d0f48", "01", "bc9a510482888503", "8ecea37d5c8d0f48", "11"),
    "[mms_issue]bad_network_preference|data_mode_off|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("1206fc1fb7b27e8d", "76b02e21f0a6d00f", "0", "c0cc0407f867d728", "76b02e21f0a6d00f", "1"),
    "[mms_issue]break_apn_mms_setting|data_mode_off|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "33e50c76ab50c4c8", "0", "c0cc0407f867d728", "33e50c76ab50c4c8", "1"),
    "[mms_issue]break_app_sms_permission|data_usage_exceeded|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "c36f11b1188e82ee", "01", "588d48315146cf79", "c36f11b1188e82ee", "11"),
    "[mms_issue]bad_network_preference|break_app_sms_permission|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("1206fc1fb7b27e8d", "5b11caf8c8d1ee79", "0", "c0cc0407f867d728", "5b11caf8c8d1ee79", "1"),
    "[mms_issue]airplane_mode_on|break_app_both_permissions|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("cb7cdb4bb3f2c7ac", "d44606c50e08bebc", "01", "588d48315146cf79", "d44606c50e08bebc", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_apn_mms_setting|data_usage_exceeded[PERSONA:Hard]":
        ("6d00d7a4832e3e2b", "5027d5e21eac5a66", "01", "184b39767df77853", "5027d5e21eac5a66", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_apn_mms_setting|break_app_storage_permission[PERSONA:None]":
        ("f54d0862eb9e6ac7", "610a2a6b73982d50", "1", "f54d0862eb9e6ac7", "610a2a6b73982d50", "1"),
    "[mms_issue]bad_wifi_calling|break_apn_mms_setting|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("3853ae1b7e91f4ae", "b15bdc32cbc34677", "1", "3853ae1b7e91f4ae", "b15bdc32cbc34677", "1"),
    "[mms_issue]break_apn_mms_setting|data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("cb7cdb4bb3f2c7ac", "57ec687ca9c9aea8", "01", "588d48315146cf79", "57ec687ca9c9aea8", "11"),
    "[mms_issue]bad_wifi_calling|break_apn_mms_setting|break_app_sms_permission|data_usage_exceeded[PERSONA:Hard]":
        ("9fdbdc4402f63ae1", "c69771c917389e18", "01", "bc9a510482888503", "c69771c917389e18", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_app_storage_permission|unseat_sim_card[PERSONA:Hard]":
        ("a23243acfdd4c31e", "c91a48f2ac099cd7", "1", "a23243acfdd4c31e", "c91a48f2ac099cd7", "1"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_app_storage_permission|data_mode_off|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("c0cc0407f867d728", "23270b065f1d7358", "1", "c0cc0407f867d728", "23270b065f1d7358", "1"),
    "[mms_issue]bad_wifi_calling|break_apn_mms_setting|data_mode_off|data_usage_exceeded|unseat_sim_card[PERSONA:None]":
        ("9fdbdc4402f63ae1", "892803fe92cbd630", "01", "bc9a510482888503", "892803fe92cbd630", "11"),
    "[mms_issue]bad_network_preference|break_app_sms_permission|data_mode_off|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("e085cd99e471af30", "b538e9c318d0333e", "01", "588d48315146cf79", "b538e9c318d0333e", "11"),
    "[mms_issue]bad_network_preference|bad_wifi_calling|break_app_both_permissions|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("3da223b8a046ef19", "e773658cac0842b7", "01", "961fdbcdbcc61acf", "e773658cac0842b7", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_apn_mms_setting|data_mode_off|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("1206fc1fb7b27e8d", "d5a0eb3bcdfadcc2", "0", "c0cc0407f867d728", "d5a0eb3bcdfadcc2", "1"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Easy]":
        ("3da223b8a046ef19", "edfe9fae8356a763", "01", "961fdbcdbcc61acf", "edfe9fae8356a763", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_app_both_permissions|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("cb7cdb4bb3f2c7ac", "c206a1fffabe3871", "01", "588d48315146cf79", "c206a1fffabe3871", "11"),
    "[mms_issue]bad_network_preference|bad_wifi_calling|break_app_sms_permission|data_mode_off|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("3853ae1b7e91f4ae", "ef2c3a374b9db32e", "1", "3853ae1b7e91f4ae", "ef2c3a374b9db32e", "1"),
    "[mms_issue]bad_network_preference|bad_wifi_calling|break_app_both_permissions|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("3da223b8a046ef19", "7dbb3548df33fee9", "01", "961fdbcdbcc61acf", "7dbb3548df33fee9", "11"),
    "[mms_issue]bad_wifi_calling|break_apn_mms_setting|break_app_both_permissions|data_mode_off|data_usage_exceeded|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("3da223b8a046ef19", "ad5997087c8274ab", "01", "961fdbcdbcc61acf", "ad5997087c8274ab", "11"),
    "[mms_issue]airplane_mode_on|bad_wifi_calling|break_app_both_permissions|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("8122665c54851cfd", "a7c4f33d9442d18c", "01", "961fdbcdbcc61acf", "a7c4f33d9442d18c", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_both_permissions|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("3853ae1b7e91f4ae", "74c155dacc2c3d56", "1", "3853ae1b7e91f4ae", "74c155dacc2c3d56", "1"),
    "[mms_issue]airplane_mode_on|bad_network_preference|break_apn_mms_setting|break_app_both_permissions|data_mode_off|data_usage_exceeded|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("e085cd99e471af30", "0d572b60a97f9204", "01", "588d48315146cf79", "0d572b60a97f9204", "11"),
    "[mms_issue]bad_network_preference|bad_wifi_calling|break_app_sms_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:Easy]":
        ("8122665c54851cfd", "efaaf99bdff94cc1", "01", "961fdbcdbcc61acf", "efaaf99bdff94cc1", "11"),
    "[mms_issue]bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_storage_permission|data_mode_off|data_usage_exceeded|unseat_sim_card[PERSONA:Easy]":
        ("9fdbdc4402f63ae1", "a0b1e89442d02dd5", "01", "bc9a510482888503", "a0b1e89442d02dd5", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_app_storage_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:Hard]":
        ("8122665c54851cfd", "6f483caec5e959d8", "01", "961fdbcdbcc61acf", "6f483caec5e959d8", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_app_sms_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:None]":
        ("3da223b8a046ef19", "14fb08473b5a6a5a", "01", "961fdbcdbcc61acf", "14fb08473b5a6a5a", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_storage_permission|data_mode_off|data_usage_exceeded|unseat_sim_card[PERSONA:Easy]":
        ("9fdbdc4402f63ae1", "64786bcaa1edf771", "01", "bc9a510482888503", "64786bcaa1edf771", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_storage_permission|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("3da223b8a046ef19", "910996f60e426e6b", "01", "961fdbcdbcc61acf", "910996f60e426e6b", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_sms_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_enabled_off[PERSONA:None]":
        ("8122665c54851cfd", "e9b66342836a659a", "01", "961fdbcdbcc61acf", "e9b66342836a659a", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_sms_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:None]":
        ("3da223b8a046ef19", "1061a2d3a4f9a355", "01", "961fdbcdbcc61acf", "1061a2d3a4f9a355", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_storage_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Easy]":
        ("3da223b8a046ef19", "28af21ff7b7dd4db", "01", "961fdbcdbcc61acf", "28af21ff7b7dd4db", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_both_permissions|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_on[PERSONA:Hard]":
        ("3da223b8a046ef19", "ba76d0a5e0dd7cc7", "01", "961fdbcdbcc61acf", "ba76d0a5e0dd7cc7", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_storage_permission|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:Easy]":
        ("3da223b8a046ef19", "669d22e09e15ac15", "01", "961fdbcdbcc61acf", "669d22e09e15ac15", "11"),
    "[mms_issue]airplane_mode_on|bad_network_preference|bad_wifi_calling|break_apn_mms_setting|break_app_both_permissions|data_mode_off|data_usage_exceeded|unseat_sim_card|user_abroad_roaming_disabled_off[PERSONA:Hard]":
        ("3da223b8a046ef19", "10cd51e02b6f4b36", "01", "961fdbcdbcc61acf", "10cd51e02b6f4b36", "11"),
}


@functools.cache
def _databases() -> tuple[dict[str, Any], dict[str, Any]]:
    return load_data_file(DATA, "db"), load_data_file(DATA, "user_db")


def fresh(task: dict[str, Any] | None = None) -> TelecomTools:
    """The domain's toolkit over fresh databases, with a task's initial state applied."""
    db, user_db = _databases()
    toolkit = TelecomTools(copy.deepcopy(db), copy.deepcopy(user_db))
    if task is not None:
        toolkit.apply_initial_state(task["initial_state"])
    return toolkit


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def held(toolkit: TelecomTools, task: dict[str, Any]) -> str:
    return "".join("1" if toolkit.check_env_assertion(a) else "0"
                   for a in task["evaluation_criteria"]["env_assertions"])


def side(action: dict[str, Any]) -> str:
    return "user" if action.get("requestor") == "user" else "agent"


def john(*setup: tuple[str, str, dict[str, Any]]) -> TelecomTools:
    """John Smith (C1001) on his line L1002 (555-123-2002, Premium Plan, roaming allowed), then ``setup``:
    (env_type, function, arguments) run as a task's initialisation actions."""
    toolkit = fresh()
    actions = [("user", "set_user_info", {"name": "John Smith", "phone_number": "555-123-2002"}), *setup]
    toolkit.apply_initial_state({"initialization_actions": [
        {"env_type": env_type, "func_name": name, "arguments": arguments} for env_type, name, arguments in actions]})
    return toolkit


def agent(toolkit: TelecomTools, name: str, **arguments: Any) -> Any:
    text = toolkit.call(name, arguments)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def user(toolkit: TelecomTools, name: str, **arguments: Any) -> str:
    return toolkit.call(name, arguments, side="user")


def error(toolkit: TelecomTools, name: str, side: str = "agent", **arguments: Any) -> str:
    """Call a tool that must fail and leave both databases as they were; the message."""
    before = toolkit.snapshot()
    with pytest.raises(ToolError) as e:
        toolkit.call(name, arguments, side=side)
    assert toolkit.snapshot() == before, f"{name} changed the state first"
    return str(e.value)


# --- gold replay ---------------------------------------------------------------------------------------


def test_every_base_task_is_pinned() -> None:
    assert len(BASE) == len(BASE_IDS) == 114
    assert set(TAU2_GOLD) == set(BASE_IDS)
    assert all(t["initial_state"]["initialization_data"] is None and t["initial_state"]["message_history"] is None
               for t in TASKS)  # telecom sets its tasks up by actions only
    assert {tuple(t["evaluation_criteria"]["reward_basis"]) for t in TASKS} == {("ENV_ASSERTION",),
                                                                               ("ENV_ASSERTION", "ACTION")}


@pytest.mark.parametrize("task", BASE, ids=[t["id"] for t in BASE])
def test_gold_replay_reaches_tau2s_states(task: dict[str, Any]) -> None:
    got = []
    for call in ("call_without_sync", "call"):
        toolkit = fresh(task)
        results = [getattr(toolkit, call)(a["name"], a["arguments"], side(a))
                   for a in task["evaluation_criteria"]["actions"]]
        got += [digest(toolkit.snapshot()), digest("\x1e".join(results)), held(toolkit, task)]
    assert tuple(got) == TAU2_GOLD[task["id"]]
    assert set(got[5]) == {"1"}  # a conversation making the gold calls satisfies every env assertion


def test_without_the_gold_actions_a_task_fails_an_assertion_or_asks_for_a_transfer() -> None:
    by_assertion = [t for t in BASE if t["evaluation_criteria"]["reward_basis"] == ["ENV_ASSERTION"]]
    by_action = [t for t in BASE if t not in by_assertion]
    assert (len(by_assertion), len(by_action)) == (94, 20)
    assert all("0" in held(fresh(task), task) for task in by_assertion)
    # the issues an agent cannot fix (a locked SIM, a contract ended...): the reward is the transfer
    assert all(set(held(fresh(task), task)) == {"1"} for task in by_action)
    assert {a["name"] for t in by_action for a in t["evaluation_criteria"]["actions"]} == {"transfer_to_human_agents"}


def test_initial_databases_get_tau2s_defaults_and_field_order() -> None:
    toolkit = fresh()
    assert toolkit.db["phone_number_aliases"] == {}
    assert list(toolkit.db["lines"][0]) == [
        "line_id", "phone_number", "status", "plan_id", "device_id", "data_used_gb", "data_refueling_gb",
        "roaming_enabled", "contract_end_date", "last_plan_change_date", "last_sim_replacement_date",
        "suspension_start_date"]
    assert toolkit.db["customers"][0]["created_at"] == "2025-01-15T10:30:00"  # stored as JSON text
    assert toolkit.user_db["surroundings"] == {
        "name": None, "phone_number": None, "is_abroad": False, "roaming_allowed": False,
        "signal_strength": {"2G": "poor", "3G": "fair", "4G": "good", "5G": "excellent"},
        "mobile_data_usage_exceeded": False, "line_active": True, "payment_request": None}
    assert toolkit.user_db["device"]["active_apn_settings"] == {
        "apn_name": "internet", "reset_at_reboot": False, "mms_apn": "mms",
        "mmsc_url": "http://mms.carrier.com/mms/wapenc", "mms_proxy": None, "mms_port": None}


# --- keeping the two sides in step -----------------------------------------------------------------------


def test_a_refuel_reaches_the_phone_in_a_conversation_but_not_in_tau2s_gold_replay() -> None:
    exceeded = ("assistant", "set_data_usage", {"customer_id": "C1001", "line_id": "L1002", "data_used_gb": 15.1})
    toolkit = john(exceeded)
    assert toolkit.user_db["surroundings"]["mobile_data_usage_exceeded"] is True  # 15.1 >= 15 GB
    assert user(toolkit, "run_speed_test") == "Speed test failed: No Connection."
    refuel = {"customer_id": "C1001", "line_id": "L1002", "gb_amount": 2.0}
    replayed = john(exceeded)
    replayed.call_without_sync("refuel_data", refuel)
    assert replayed.user_db["surroundings"]["mobile_data_usage_exceeded"] is True
    assert agent(toolkit, "refuel_data", **refuel) == {
        "message": "Successfully added 2.0 GB of data for line L1002 for $4.00",
        "new_data_refueling_gb": "2.0", "charge": "4.0"}  # numbers of a plain object read as strings
    assert toolkit.user_db["surroundings"]["mobile_data_usage_exceeded"] is False
    # (50 + 500) / 2 on 5G, times 0.8 for the "good" signal the phone had before any network search
    assert user(toolkit, "run_speed_test") == (
        "Speed Test Result: 220.00 Mbps (Excellent). Connection is very fast.")
    [draft] = [b for b in toolkit.db["bills"] if b["bill_id"] == "B1003"]  # C1001's draft bill takes the charge
    assert draft["total_due"] == 4.0
    assert draft["line_items"] == [{"description": "Data refueling: 2.0 GB at $2.0/GB", "amount": 4.0,
                                    "date": "2025-02-25", "item_type": "Charge"}]


def test_an_overdue_bill_is_paid_through_the_payment_request() -> None:
    toolkit = john(("assistant", "suspend_line_for_overdue_bill",
                    {"customer_id": "C1001", "line_id": "L1002", "new_bill_id": "B9", "contract_ended": False}))
    # the carrier suspended the line; the phone shows it only once it searches the network again
    assert toolkit.user_db["surroundings"]["line_active"] is False
    assert toolkit.user_db["device"]["network_connection_status"] == "connected"
    user(toolkit, "reboot_device")
    assert toolkit.user_db["device"]["network_connection_status"] == "no_service"
    assert user(toolkit, "check_payment_request") == "No payment request has been made."
    assert agent(toolkit, "send_payment_request", customer_id="C1001", bill_id="B9") == (
        "Payment request sent to the customer for bill B9")
    assert user(toolkit, "check_payment_request") == "You have a payment request for bill B9 of 65.0 USD."
    assert error(toolkit, "send_payment_request", customer_id="C1001", bill_id="B1002") == (
        "A bill is already awaiting payment for this customer")
    assert user(toolkit, "make_payment") == "Payment of 65.0 USD has been made for bill B9."
    assert toolkit.user_db["surroundings"]["payment_request"] is None
    assert toolkit.check_env_assertion({"env_type": "assistant", "func_name": "assert_no_overdue_bill",
                                        "arguments": {"overdue_bill_id": "B9"}})
    agent(toolkit, "resume_line", customer_id="C1001", line_id="L1002")
    assert toolkit.user_db["device"]["network_connection_status"] == "no_service"
    assert "Restarting network services..." in user(toolkit, "reboot_device")
    assert toolkit.user_db["device"]["network_connection_status"] == "connected"


def test_in_tau2s_gold_replay_a_payment_finds_no_request() -> None:
    toolkit = john(("assistant", "suspend_line_for_overdue_bill",
                    {"customer_id": "C1001", "line_id": "L1002", "new_bill_id": "B9", "contract_ended": True}))
    toolkit.call_without_sync("send_payment_request", {"customer_id": "C1001", "bill_id": "B9"})
    assert toolkit.call_without_sync("make_payment", {}, "user") == "You do not have a payment request."
    [bill] = [b for b in toolkit.db["bills"] if b["bill_id"] == "B9"]
    assert bill["status"] == "Awaiting Payment"
    assert [b for b in toolkit.db["lines"] if b["line_id"] == "L1002"][0]["contract_end_date"] == "2025-01-31"


def test_roaming_abroad_needs_the_phone_setting_and_the_carrier() -> None:
    toolkit = john(("user", "set_user_location", {"abroad": True}),
                   ("assistant", "disable_roaming", {"customer_id": "C1001", "line_id": "L1002"}))
    assert "Data Roaming is now ON." in user(toolkit, "toggle_roaming")
    assert not toolkit.run_assertion("assert_mobile_data_status", {"expected_status": True})
    assert agent(toolkit, "enable_roaming", customer_id="C1001", line_id="L1002") == "Roaming enabled successfully"
    assert agent(toolkit, "enable_roaming", customer_id="C1001", line_id="L1002") == "Roaming was already enabled"
    assert toolkit.run_assertion("assert_mobile_data_status", {"expected_status": True})


# --- the phone -------------------------------------------------------------------------------------------


def test_phone_tools_text() -> None:
    toolkit = john(("user", "turn_airplane_mode_on", {}), ("user", "break_vpn", {}))
    # a VPN connects in airplane mode (turning airplane mode on disconnects it, connecting is not refused)
    assert user(toolkit, "check_status_bar") == "Status Bar: ✈️ Airplane Mode | 🔒 VPN Connected | 🔋 80%"
    assert user(toolkit, "toggle_wifi") == ("Cannot change Wi-Fi settings while Airplane Mode is ON.\n"
                                            "Status Bar: ✈️ Airplane Mode | 🔒 VPN Connected | 🔋 80%")
    assert user(toolkit, "toggle_airplane_mode") == (
        "Airplane Mode is now OFF.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔒 VPN Connected | 🔋 80%")
    assert user(toolkit, "check_vpn_status") == (
        "VPN is ON and connected. Details: {'server_address': '192.168.1.1', 'protocol': 'OpenVPN', "
        "'server_performance': <PerformanceLevel.POOR: 'poor'>}")
    assert user(toolkit, "run_speed_test") == (
        "Speed Test Result: 27.50 Mbps (Good). Connection is good for most activities, including HD streaming.")
    assert user(toolkit, "connect_vpn") == "VPN already connected."  # no status bar on this answer
    assert user(toolkit, "check_network_status") == "\n".join([
        "Airplane Mode: OFF", "SIM Card Status: active", "Cellular Connection: connected",
        "Cellular Signal: excellent", "Cellular Network Type: 5G", "Mobile Data Enabled: Yes",
        "Data Roaming Enabled: No", "Wi-Fi Radio: OFF", "Wi-Fi Connected: No"])
    assert user(toolkit, "set_network_mode_preference", mode="3G_only") == (
        "Failed to set network mode: '3G_only' is not a valid option. Please use one of: 4g_5g_preferred, "
        "4g_only, 3g_only, 2g_only\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔒 VPN Connected | 🔋 80%")
    assert user(toolkit, "set_network_mode_preference", mode="2g_only").startswith(
        "Preferred Network Mode set to: 2g_only\nStatus Bar: 📶¹ Poor | 2G |")
    assert user(toolkit, "can_send_mms") == "Your messaging app cannot send MMS messages."  # not over 2G


def test_apn_and_app_permissions() -> None:
    toolkit = john(("user", "break_apn_mms_setting", {}),
                   ("user", "remove_app_permission", {"app_name": "messaging", "permission": "storage"}))
    assert user(toolkit, "check_apn_settings") == (
        "Current APN Name: internet\nMMSC URL (for picture messages): Not Set\n"
        "(These are technical settings, usually best left unchanged.)")
    assert user(toolkit, "check_app_permissions", app_name="messaging") == (
        "App 'messaging' has permission for: sms, phone.")
    assert user(toolkit, "grant_app_permission", app_name="messaging", permission="camera").startswith(
        "Error. Permission 'camera' not tracked for app 'messaging', available permissions: "
        "['sms', 'storage', 'phone', 'network']\nStatus Bar:")
    assert user(toolkit, "grant_app_permission", app_name="messaging", permission="Storage").startswith(
        "Success. Permission 'storage' granted to app 'messaging'.")
    assert user(toolkit, "check_app_status", app_name="messaging") == (
        "Status for App: messaging\n - Permissions Granted:\n   - sms\n   - storage\n   - phone")
    assert user(toolkit, "reset_apn_settings").startswith("APN settings will reset at reboot.")
    assert user(toolkit, "can_send_mms") == "Your messaging app cannot send MMS messages."  # not before a reboot
    assert user(toolkit, "reboot_device").startswith("Resetting APN settings...\nRestarting network services...")
    assert user(toolkit, "can_send_mms") == "Your messaging app can send MMS messages."


# --- the carrier's tools ---------------------------------------------------------------------------------


def test_agent_read_tools_show_values_as_tau2_does() -> None:
    toolkit = fresh()
    customer = agent(toolkit, "get_customer_by_phone", phone_number="(555) 123 2001")  # a line's number, any format
    assert customer["customer_id"] == "C1001"
    assert customer["created_at"] == "2025-01-15 10:30:00"  # str() of a date-time
    assert agent(toolkit, "get_customer_by_name", full_name=" JOHN smith", dob="1985-06-15") == [customer]
    assert agent(toolkit, "get_customer_by_name", full_name="John Smith", dob="1985-6-15") == []
    assert agent(toolkit, "get_details_by_id", id="D1002")["last_esim_transfer_date"] == "2025-01-20 09:30:00"
    assert agent(toolkit, "get_data_usage", customer_id="C1001", line_id="L1002") == {
        "line_id": "L1002", "data_used_gb": "8.7", "data_limit_gb": "15.0", "data_refueling_gb": "0.0",
        "cycle_end_date": "2025-02-28"}
    assert [b["bill_id"] for b in agent(toolkit, "get_bills_for_customer", customer_id="C1001", limit=2)] == [
        "B1003", "B1002"]
    line = agent(toolkit, "suspend_line", customer_id="C1001", line_id="L1001", reason="travel")
    assert line["message"] == "Line suspended successfully. $5/month holding fee will apply."
    assert (line["line"]["status"], line["line"]["suspension_start_date"]) == ("Suspended", "2025-02-25")


def test_agent_tool_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "get_details_by_id", id="X1") == "Unknown ID format or type: X1"
    assert error(toolkit, "get_details_by_id", id="L9") == "Line with ID L9 not found"
    assert error(toolkit, "get_customer_by_phone", phone_number="call me") == (
        "Customer with phone number call me not found")
    assert error(toolkit, "suspend_line", customer_id="C1001", line_id="L1003", reason="x") == (
        "Line must be active to suspend")
    assert error(toolkit, "resume_line", customer_id="C1001", line_id="L1001") == "Line must be suspended to resume"
    assert error(toolkit, "refuel_data", customer_id="C1001", line_id="L1004", gb_amount=1) == (
        "Line L1004 not found for customer C1001")
    assert error(toolkit, "refuel_data", customer_id="C1001", line_id="L1002", gb_amount=0) == (
        "Refuel amount must be positive")
    assert error(toolkit, "send_payment_request", customer_id="C9", bill_id="B1") == "Customer with ID C9 not found"
    assert error(toolkit, "enable_roaming", customer_id="C1001") == (
        "TelecomTools.enable_roaming() missing 1 required positional argument: 'line_id'")
    assert error(toolkit, "check_status_bar") == "Tool 'check_status_bar' not found."  # a user tool


def test_a_charge_without_a_draft_bill_makes_one_for_next_month() -> None:
    toolkit = fresh()
    agent(toolkit, "refuel_data", customer_id="C1002", line_id="L1004", gb_amount=1.5)  # C1002 has no draft bill
    new_id = toolkit.db["customers"][1]["bill_ids"][-1]
    bill = toolkit.db["bills"][-1]
    assert bill["bill_id"] == new_id and len(new_id) == 9 and new_id.startswith("B")
    assert {k: bill[k] for k in ("period_start", "period_end", "issue_date", "due_date", "status", "total_due")} == {
        "period_start": "2025-03-01", "period_end": "2025-03-31", "issue_date": "2025-03-01",
        "due_date": "2025-03-15", "status": "Draft", "total_due": 0.15000000000000002}  # 1.5 GB at $0.1
    again = fresh()
    agent(again, "refuel_data", customer_id="C1002", line_id="L1004", gb_amount=1.5)
    assert again.snapshot() == toolkit.snapshot()  # the same calls reach the same state


def test_tool_specs() -> None:
    agent_tools = {spec.name for spec in TelecomTools.tool_specs("agent")}
    assert agent_tools == {
        "disable_roaming", "enable_roaming", "get_bills_for_customer", "get_customer_by_id",
        "get_customer_by_name", "get_customer_by_phone", "get_data_usage", "get_details_by_id",
        "refuel_data", "resume_line", "send_payment_request", "suspend_line", "transfer_to_human_agents"}
    user_tools = {spec.name for spec in TelecomTools.tool_specs("user")}
    assert len(user_tools) == 30 and not user_tools & agent_tools
    [refuel] = [s for s in TelecomTools.tool_specs("agent") if s.name == "refuel_data"]
    assert refuel.parameters["required"] == ["customer_id", "line_id", "gb_amount"]
    assert refuel.parameters["properties"]["gb_amount"]["type"] == "number"
    assert all(spec.description for spec in TelecomTools.tool_specs("agent") + TelecomTools.tool_specs("user"))
    assert TelecomTools.is_mutating("toggle_airplane_mode", "user")
    assert not TelecomTools.is_mutating("transfer_to_human_agents")


# --- the domain as the harness loads it ------------------------------------------------------------------


def test_registry_and_policy() -> None:
    assert toolkit_for("telecom") is TelecomTools and TOOLKITS["telecom"] is TelecomTools
    domain = load_domain(DATA)
    main = (DATA / "main_policy.md").read_text(encoding="utf-8")
    manual = (DATA / "tech_support_manual.md").read_text(encoding="utf-8")
    assert domain.policy == (f"<main_policy>\n{main}\n</main_policy>\n"
                             f"<tech_support_policy>\n{manual}\n</tech_support_policy>")
    assert len(domain.tasks_in("base")) == 114


def test_a_domain_directory_without_the_manual_is_a_data_error(tmp_path: Path) -> None:
    directory = tmp_path / "telecom"
    directory.mkdir()
    for name in ("db.toml", "user_db.toml", "tasks.json", "main_policy.md"):
        (directory / name).write_bytes((DATA / name).read_bytes())
    with pytest.raises(DataError, match="no tech_support_manual.md"):
        load_domain(directory)


def test_tau_validate_replays_every_task(tmp_path: Path) -> None:
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(DATA), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{DATA}: {len(TASKS)}/{len(TASKS)} tasks replay their gold actions cleanly" in proc.stdout


def test_dumped_states_are_tau2s_evaluator_states(tmp_path: Path) -> None:
    # τ²-bench's gold state is its evaluator's replay (no sync between calls), not a conversation's
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(DATA), "--split", "base",
                       "--dump-states", str(tmp_path / "states"), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for task_id in BASE_IDS:
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)  # as validate names its files
        state = json.loads((tmp_path / "states" / f"{name}.json").read_text())
        compact = json.dumps(state, sort_keys=True, separators=(",", ":"))
        assert digest(compact) == TAU2_GOLD[task_id][0], task_id
