"""τ²-bench's retail domain: gold replay, each write tool's exact effect, output text and tool specs.

Expected values come from τ²-bench's own ``RetailTools`` run on the same data (a pinned digest per task of
its database after the gold actions, exactly its ``get_db_hash()``, and of the text of every tool result),
or were read off its code; the comments say which τ²-bench quirk a value shows.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.adapters.tau.domains import TOOLKITS, toolkit_for
from evalharness.adapters.tau.domains.retail import RetailTools
from evalharness.errors import DataError
from evalharness.tools import ToolError

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "tau2" / "retail"
TASKS: list[dict[str, Any]] = json.loads((DATA / "tasks.json").read_text(encoding="utf-8"))

# sha256 of τ²-bench's RetailDB.load(db.json).model_dump(), as json.dumps(sort_keys=True): its get_db_hash()
INITIAL_DB_HASH = "b25c9cb211f5efca"

# Per task, from τ²-bench's RetailTools replaying the task's gold actions on a fresh database:
# (get_db_hash() afterwards, sha256 of the tool results joined by \x1e), both cut to 16 hex digits.
TAU2_GOLD: dict[str, tuple[str, str]] = {
    "0": ("a109be174767fde0", "a2df90ca18e9892a"),
    "1": ("eab1dde2ca84a093", "05be136e0b1b692a"),
    "2": ("9b66e83dbc00ef3e", "3e03238037f1336a"),
    "3": ("efb8b638945f1929", "ba5ff57c54278e6c"),
    "4": ("f333ec4241d5094c", "37da54e7ea3d3886"),
    "5": ("9f1e45fc84a6995e", "e1af2a8336c3bd91"),
    "6": ("2053905d31cc52d9", "a2a56efc3bf46550"),
    "7": ("4759f292bd7623e9", "3ecacbb0a6e24d81"),
    "8": ("b9f3a1f4d12b2c56", "a4a45a974fa9bec5"),
    "9": ("c0bf2b8ebfe464fb", "9cbe3a8c75b6698e"),
    "10": ("b25c9cb211f5efca", "4a77fb12ee426392"),
    "11": ("05695f333e6ae896", "dab8185dfe90cbac"),
    "12": ("b25c9cb211f5efca", "4a77fb12ee426392"),
    "13": ("21462ba8f4c96b19", "20ee95ecd979677a"),
    "14": ("6351938a2a69905b", "19481000c7e1ff07"),
    "15": ("fe6b690f4810cc00", "4d1a4b53f039be9b"),
    "16": ("76488acd2c5a18ad", "a8f14837cdb3bd74"),
    "17": ("582f5d9c8242800c", "d9e087047546e577"),
    "18": ("ae5647e967420cfa", "5823183bc76cbf4b"),
    "19": ("ef45b3de7b49e6bc", "ad5e0914b5b7f5c7"),
    "20": ("d43fdfd87998ef6d", "b5fe7557e3c107ae"),
    "21": ("079ef03ab35d99a9", "8b50b179641566ad"),
    "22": ("dc23fc9e78321e7b", "f8ab11fa8c049859"),
    "23": ("077542b3b67113dd", "f40ab2a905acfc2b"),
    "24": ("b25c9cb211f5efca", "e3b0c44298fc1c14"),
    "25": ("b25c9cb211f5efca", "98451a2809f6e888"),
    "26": ("232e66188bb835ce", "f7d8fb722264c291"),
    "27": ("08a9f35dd8ee39c4", "93f862f8daba16f3"),
    "28": ("977b187e0993e19c", "2306b48485cf34d5"),
    "29": ("d2d7dc99ebacc7ea", "e779dcfa34509019"),
    "30": ("e714c87d983579c1", "1f365d5ab0f42809"),
    "31": ("62c4403fbd959f27", "910756803501dd18"),
    "32": ("aef31f614f8bc4ca", "0a55b5c6dc91d667"),
    "33": ("5fe996d49aefd73c", "b220ef8c1db106b3"),
    "34": ("bac92290376c0e4c", "ea52e8872eb58bba"),
    "35": ("4f518424174e5718", "6b3c20251920d616"),
    "36": ("c263b7ca5913ee44", "8d26ebf9a3432ec8"),
    "37": ("c263b7ca5913ee44", "784c1ae7886dfdbc"),
    "38": ("e5c0722a1e6b8a9f", "9a83363bbe8e3d3c"),
    "39": ("6cecf269871ecdf1", "1ebf4d30613ee67b"),
    "40": ("09f9be39b93d78b4", "ea886eb6ea867a41"),
    "41": ("c3bd28c101572f04", "9391c5f682207382"),
    "42": ("c3bd28c101572f04", "9391c5f682207382"),
    "43": ("a533bdac3eb69d96", "8617b5ae51eb0b7d"),
    "44": ("7261dbb2b5feffa7", "11fed94587d53bad"),
    "45": ("4c50624bd45b7ca2", "8889511bc492e547"),
    "46": ("9443e4a3f3027042", "b44e3138c0a50be2"),
    "47": ("3e78643a77152115", "835a8b71be335e8e"),
    "48": ("f97ba40e5b916df2", "04bfb6c99043e675"),
    "49": ("57802d7b797ea69d", "a055f7517a6e3593"),
    "50": ("b25c9cb211f5efca", "bccdc18e7b6ac085"),
    "51": ("5198da6a906fdf50", "df0f76ce61a52b6d"),
    "52": ("0a993bd7f7029816", "37c16361c16a4e48"),
    "53": ("75f2e3a64f604bca", "90e19e783bdf4301"),
    "54": ("ce62537763499f16", "bfb7e612c79d5689"),
    "55": ("b8dc464a3c0c716a", "e71d7d7bb2ed8430"),
    "56": ("aa54036bba8dcaff", "88aff1abc5b23c7c"),
    "57": ("b25c9cb211f5efca", "e3b0c44298fc1c14"),
    "58": ("381a3546df6ca590", "b5bad0c0c325352d"),
    "59": ("8cf194e4eca8883c", "9f262316a3cbcd25"),
    "60": ("c64074b669a71488", "1033c33089ef99ad"),
    "61": ("c4714fc4f11376ef", "fec53f25c47d7c2c"),
    "62": ("b25c9cb211f5efca", "be4bf1bda0016646"),
    "63": ("26acf77e3aebedee", "d648d489b62dafd8"),
    "64": ("2e9d92ee0d0cdd9e", "b7ba789280f7920f"),
    "65": ("b25c9cb211f5efca", "9fbc83a0628d07f7"),
    "66": ("a60e11827d3f5335", "6ae53d3cb9bcf5a2"),
    "67": ("b25c9cb211f5efca", "2b30aafdccccf9b6"),
    "68": ("b25c9cb211f5efca", "78f656cb073f72e6"),
    "69": ("847ac0da2e8587dc", "415e896d40c90e9c"),
    "70": ("d8d9d176cae3c76a", "ae20a4403d9c0d03"),
    "71": ("c14be7c97f71be56", "3e7596b62f6f3bc6"),
    "72": ("c14be7c97f71be56", "3e7596b62f6f3bc6"),
    "73": ("3fda1284264c9916", "3551f431289a79b7"),
    "74": ("49e0a1364ae7737e", "49baeab2d498c7c0"),
    "75": ("4715bef725f01804", "1d019f6aaf279542"),
    "76": ("790091ad9136f130", "a87406bb2e820c91"),
    "77": ("6b264a9871c7d507", "acef4b153c2d0ab3"),
    "78": ("4ceb2d12183fc803", "b4d239b8a1774d2e"),
    "79": ("08eab1c97f1c8b33", "fefdc7219ec4a2f1"),
    "80": ("2eb374bb67d50bb3", "ce0791365b14504b"),
    "81": ("3e6cf2f5d5449372", "106f8c65ff113299"),
    "82": ("7ecde7bd76643d71", "dc67d538844dadc9"),
    "83": ("6d6c5796be53ea08", "093924997c5748a5"),
    "84": ("6d6c5796be53ea08", "093924997c5748a5"),
    "85": ("e60e8a9611764471", "27d9e2eab121dcc1"),
    "86": ("4d145d54e2a02334", "94bea0fd5cdd9097"),
    "87": ("facad1bdef80ec3f", "2f6cdaf364c4b74d"),
    "88": ("3ac42fbf475eee66", "2914f5c1e7363739"),
    "89": ("e6d35273c62bde74", "6801877b4f4a9f3a"),
    "90": ("c01984ba9743cde5", "b647c49a1c31a6b5"),
    "91": ("513010e85e47d540", "3ffc20eebfe48ece"),
    "92": ("034b3692aa700cbd", "c5d76f35589a58b6"),
    "93": ("0c80a65bf8cd685f", "0d688a81ce410d1f"),
    "94": ("b43bfc63042a1659", "a618f129c7e420db"),
    "95": ("a0d1b0eab2e1e283", "c65a8a7a34509706"),
    "96": ("a997556557672619", "0934675e1937f39c"),
    "97": ("a997556557672619", "0934675e1937f39c"),
    "98": ("a38fddcc78ebe2ba", "faa57b5a1e80818a"),
    "99": ("0d4c506b6ae15e33", "1e2b9a4d3b91452b"),
    "100": ("1af6e2cc79b3269e", "41a83a79b2b31564"),
    "101": ("ecb59101f10d577b", "5108ec82e1f50085"),
    "102": ("0089a38140d5fb73", "e5a1e211b214fbe8"),
    "103": ("da721a24a789c89f", "a090fab270e27036"),
    "104": ("86fb873c6582ce78", "fb17b8066878ffa5"),
    "105": ("b25c9cb211f5efca", "87d1f7fb885ebde3"),
    "106": ("2d308b3a21934f60", "1df112724392b905"),
    "107": ("8111ebca39106dc4", "c56f16a289fc3b86"),
    "108": ("7db01a0501bbd56e", "c600943a726d822e"),
    "109": ("b7a36959054a9b2b", "e9a8bade88ea5135"),
    "110": ("f45606e4dad4fb4e", "5664c6b3be7f3188"),
    "111": ("1301e5413c383b76", "58b8f42f3492e92f"),
    "112": ("6eb2be1662a3ddae", "70df1598e278b410"),
    "113": ("4337c9b2595520e2", "883ea5b19eff2cca"),
}

# The gold actions that fail in τ²-bench too (its evaluator logs them and goes on): action_id -> message.
TAU2_GOLD_ERRORS: dict[str, dict[str, str]] = {
    "2": {"2_1": "Product not found"},
    "3": {"3_1": "Product not found"},
    "4": {"4_1": "Product not found"},
    "35": {"35_0": "User not found"},
    "37": {"37_0": "User not found"},
    "38": {"38_0": "User not found"},
    "39": {"39_0": "User not found"},
    "46": {"46_1": "Order not found", "46_2": "Order not found"},
    "47": {"47_1": "Order not found", "47_2": "Order not found"},
    "54": {"54_0": "User not found"},
    "55": {"55_0": "User not found"},
    "64": {"64_6": "Non-delivered order cannot be exchanged"},
    "67": {"67_0": "User not found", "67_1": "User not found"},
    "68": {"68_0": "User not found"},
    "105": {"106_0": "Insufficient gift card balance to pay for the price difference"},
}


@functools.cache
def _db_text() -> str:
    return (DATA / "db.json").read_text(encoding="utf-8")


def fresh() -> RetailTools:
    return RetailTools(json.loads(_db_text()))


def db_hash(toolkit: RetailTools) -> str:
    """τ²-bench's ``get_db_hash`` of our database, cut to 16 hex digits."""
    return hashlib.sha256(json.dumps(toolkit.db, sort_keys=True, default=str).encode()).hexdigest()[:16]


def ok(toolkit: RetailTools, name: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its result parsed back from the text the model reads."""
    text = toolkit.call(name, arguments)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def error(toolkit: RetailTools, name: str, **arguments: Any) -> str:
    """Call a tool that must fail and leave the database as it was; the message."""
    before = orjson.dumps(toolkit.db, option=orjson.OPT_SORT_KEYS)
    with pytest.raises(ToolError) as e:
        toolkit.call(name, arguments)
    assert orjson.dumps(toolkit.db, option=orjson.OPT_SORT_KEYS) == before, f"{name} changed the database first"
    return str(e.value)


def gift_balance(toolkit: RetailTools, user_id: str, card: str) -> float:
    return toolkit.db["users"][user_id]["payment_methods"][card]["balance"]


NEW_ADDRESS = {"address1": "1 Main St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}
# τ²-bench's UserAddress field order: country before state, whatever order the arguments come in
NEW_ADDRESS_DUMP = {"address1": "1 Main St", "address2": "", "city": "Austin", "country": "USA", "state": "TX",
                    "zip": "78701"}
NO_EXTRAS = {"cancel_reason": None, "exchange_items": None, "exchange_new_items": None,
             "exchange_payment_method_id": None, "exchange_price_difference": None, "return_items": None,
             "return_payment_method_id": None}


# --- gold replay ---------------------------------------------------------------------------------------


def test_every_task_is_pinned() -> None:
    assert len(TASKS) == 114
    assert {t["id"] for t in TASKS} == set(TAU2_GOLD)
    assert all(t.get("initial_state") is None for t in TASKS)  # retail defines no initial state


@pytest.mark.parametrize("task", TASKS, ids=[t["id"] for t in TASKS])
def test_gold_replay_reaches_tau2s_database(task: dict[str, Any]) -> None:
    toolkit = fresh()
    toolkit.apply_initial_state(task.get("initial_state"))
    assert db_hash(toolkit) == INITIAL_DB_HASH
    criteria = task["evaluation_criteria"]
    results, errors = [], {}
    for action in criteria["actions"]:
        side = "user" if action.get("requestor") == "user" else "agent"
        try:
            results.append(toolkit.call(action["name"], action["arguments"], side=side))
        except ToolError as e:
            errors[action["action_id"]] = str(e)
            results.append(f"Error: {e}")
    assert errors == TAU2_GOLD_ERRORS.get(task["id"], {})
    for assertion in criteria.get("env_assertions") or []:
        assert toolkit.check_env_assertion(assertion)
    expected_db, expected_results = TAU2_GOLD[task["id"]]
    assert db_hash(toolkit) == expected_db
    assert hashlib.sha256("\x1e".join(results).encode()).hexdigest()[:16] == expected_results


def test_initial_database_gets_tau2s_defaults_and_field_order() -> None:
    raw = json.loads(_db_text())
    assert "cancel_reason" not in raw["orders"]["#W2611340"]
    toolkit = RetailTools(raw)
    assert toolkit.db is raw  # normalised in place
    order = toolkit.db["orders"]["#W2611340"]
    assert list(order) == ["order_id", "user_id", "address", "items", "status", "fulfillments", "payment_history",
                           *NO_EXTRAS]
    assert all(all(o[k] is None for k in NO_EXTRAS) for o in toolkit.db["orders"].values())
    assert db_hash(toolkit) == INITIAL_DB_HASH


def test_a_database_outside_the_data_model_is_a_data_error() -> None:
    raw = json.loads(_db_text())
    raw["orders"]["#W2611340"]["status"] = "lost"
    with pytest.raises(DataError, match="status"):
        RetailTools(raw)
    with pytest.raises(DataError, match="extra"):
        RetailTools({**json.loads(_db_text()), "extra": {}})


# --- cancel_pending_order ------------------------------------------------------------------------------


def test_cancel_refunds_a_gift_card_at_once() -> None:
    toolkit = fresh()
    order = ok(toolkit, "cancel_pending_order", order_id="#W8955613", reason="no longer needed")
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "no longer needed"
    assert order["payment_history"] == [
        {"transaction_type": "payment", "amount": 585.97, "payment_method_id": "gift_card_6682391"},
        {"transaction_type": "refund", "amount": 585.97, "payment_method_id": "gift_card_6682391"},
    ]
    assert gift_balance(toolkit, "olivia_lopez_9494", "gift_card_6682391") == 620.97  # 35.0 + 585.97
    assert toolkit.db["orders"]["#W8955613"] == order


def test_cancel_refunds_a_card_later_so_no_balance_moves() -> None:
    toolkit = fresh()
    user_before = json.dumps(toolkit.db["users"]["aarav_brown_3744"])
    order = ok(toolkit, "cancel_pending_order", order_id="#W5065081", reason="ordered by mistake")
    assert order["payment_history"][1:] == [
        {"transaction_type": "refund", "amount": 2502.04, "payment_method_id": "credit_card_3627996"}]
    assert order["cancel_reason"] == "ordered by mistake"
    assert json.dumps(toolkit.db["users"]["aarav_brown_3744"]) == user_before


def test_cancel_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "cancel_pending_order", order_id="#W9077205", reason="no longer needed") == \
        "Non-pending order cannot be cancelled"
    assert error(toolkit, "cancel_pending_order", order_id="#W8955613", reason="changed my mind") == "Invalid reason"
    assert error(toolkit, "cancel_pending_order", order_id="W8955613", reason="no longer needed") == "Order not found"
    ok(toolkit, "cancel_pending_order", order_id="#W8955613", reason="no longer needed")
    assert error(toolkit, "cancel_pending_order", order_id="#W8955613", reason="no longer needed") == \
        "Non-pending order cannot be cancelled"


# --- modify_pending_order_items ------------------------------------------------------------------------


def test_modify_items_reproduces_tau2s_last_variant_quirk_and_unrounded_refund() -> None:
    toolkit = fresh()
    # watch 2554056026 (367.38) -> 2860956907 (315.61); backpack 6309044598 (218.59) -> 3928046918 (198.0)
    order = ok(toolkit, "modify_pending_order_items", order_id="#W8955613",
               item_ids=["2554056026", "6309044598"], new_item_ids=["2860956907", "3928046918"],
               payment_method_id="gift_card_6682391")
    assert order["status"] == "pending (item modified)"
    # τ²-bench records abs() of the float sum unrounded ...
    assert order["payment_history"][1] == {"transaction_type": "refund", "amount": 72.35999999999999,
                                           "payment_method_id": "gift_card_6682391"}
    # ... and rounds the gift card: 35.0 + 72.36
    assert gift_balance(toolkit, "olivia_lopez_9494", "gift_card_6682391") == 107.36
    backpack_options = {"color": "black", "size": "large", "material": "nylon", "compartment": "camera"}
    assert [(i["item_id"], i["price"], i["options"]) for i in order["items"]] == [
        ("2860956907", 198.0, backpack_options),  # the watch gets the last new item's price and options
        ("3928046918", 198.0, backpack_options),
    ]
    assert [i["name"] for i in order["items"]] == ["Smart Watch", "Backpack"]
    assert {k: order[k] for k in NO_EXTRAS} == NO_EXTRAS
    # only once: the status is no longer exactly "pending"
    assert error(toolkit, "modify_pending_order_items", order_id="#W8955613", item_ids=["2860956907"],
                 new_item_ids=["5694328282"], payment_method_id="gift_card_6682391") == \
        "Non-pending order cannot be modified"
    assert error(toolkit, "cancel_pending_order", order_id="#W8955613", reason="no longer needed") == \
        "Non-pending order cannot be cancelled"
    # ... but the address (and payment) tools accept any status containing "pending"
    assert ok(toolkit, "modify_pending_order_address", order_id="#W8955613", **NEW_ADDRESS)["address"] == \
        NEW_ADDRESS_DUMP


def test_modify_items_with_nothing_to_change_still_records_a_zero_refund() -> None:
    toolkit = fresh()
    order = ok(toolkit, "modify_pending_order_items", order_id="#W5065081", item_ids=[], new_item_ids=[],
               payment_method_id="credit_card_3627996")
    assert order["status"] == "pending (item modified)"
    assert order["payment_history"][1] == {"transaction_type": "refund", "amount": 0.0,
                                           "payment_method_id": "credit_card_3627996"}
    assert '"amount": 0.0, ' in toolkit.call("get_order_details", {"order_id": "#W5065081"})


def test_modify_items_errors() -> None:
    toolkit = fresh()
    args = {"order_id": "#W8955613", "payment_method_id": "gift_card_6682391"}
    assert error(toolkit, "modify_pending_order_items", item_ids=["2554056026"], new_item_ids=["2554056026"],
                 **args) == "The new item id should be different from the old item id"
    assert error(toolkit, "modify_pending_order_items", item_ids=["2554056026"], new_item_ids=["4920090458"],
                 **args) == "New item 4920090458 not found or available"
    assert error(toolkit, "modify_pending_order_items", item_ids=["2554056026"], new_item_ids=["3928046918"],
                 **args) == "Variant not found"  # a backpack for a watch
    assert error(toolkit, "modify_pending_order_items", item_ids=["1234567890"], new_item_ids=["3928046918"],
                 **args) == "1234567890 not found"
    assert error(toolkit, "modify_pending_order_items", item_ids=["2554056026", "2554056026"],
                 new_item_ids=["2860956907", "2860956907"], **args) == "2554056026 not found"
    assert error(toolkit, "modify_pending_order_items", item_ids=["2554056026"], new_item_ids=[], **args) == \
        "The number of items to be exchanged should match"
    assert error(toolkit, "modify_pending_order_items", order_id="#W8955613", item_ids=["2554056026"],
                 new_item_ids=["2860956907"], payment_method_id="paypal_0000000") == "Payment method not found"
    assert error(toolkit, "modify_pending_order_items", order_id="#W2611340", item_ids=[], new_item_ids=[],
                 payment_method_id="gift_card_1725971") == "Non-pending order cannot be modified"  # processed
    # 534.14 -> 545.68 costs 11.54, the gift card holds 9.0
    assert error(toolkit, "modify_pending_order_items", order_id="#W3206099", item_ids=["3333391894"],
                 new_item_ids=["3877338112"], payment_method_id="gift_card_2748512") == \
        "Insufficient gift card balance to pay for the new item"
    assert db_hash(toolkit) == INITIAL_DB_HASH


# --- modify_pending_order_payment ----------------------------------------------------------------------


def test_modify_payment_to_a_gift_card_takes_its_balance() -> None:
    toolkit = fresh()
    order = ok(toolkit, "modify_pending_order_payment", order_id="#W1080318", payment_method_id="gift_card_3749819")
    assert order["status"] == "pending"
    assert order["payment_history"] == [
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": "credit_card_3577130"},
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": "gift_card_3749819"},
        {"transaction_type": "refund", "amount": 53.43, "payment_method_id": "credit_card_3577130"},
    ]
    assert gift_balance(toolkit, "omar_kim_3528", "gift_card_3749819") == 37.57  # 91.0 - 53.43


def test_modify_payment_away_from_a_gift_card_then_cancel_refunds_every_entry() -> None:
    toolkit = fresh()
    order = ok(toolkit, "modify_pending_order_payment", order_id="#W8955613",
               payment_method_id="credit_card_6044108")
    assert [(p["transaction_type"], p["payment_method_id"]) for p in order["payment_history"]] == [
        ("payment", "gift_card_6682391"), ("payment", "credit_card_6044108"), ("refund", "gift_card_6682391")]
    assert gift_balance(toolkit, "olivia_lopez_9494", "gift_card_6682391") == 620.97
    assert error(toolkit, "modify_pending_order_payment", order_id="#W8955613",
                 payment_method_id="gift_card_6682391") == "There should be exactly one payment for a pending order"
    # τ²-bench refunds all three entries, the refund included: the gift card gets 585.97 twice more
    order = ok(toolkit, "cancel_pending_order", order_id="#W8955613", reason="ordered by mistake")
    assert [(p["transaction_type"], p["payment_method_id"]) for p in order["payment_history"][3:]] == [
        ("refund", "gift_card_6682391"), ("refund", "credit_card_6044108"), ("refund", "gift_card_6682391")]
    assert gift_balance(toolkit, "olivia_lopez_9494", "gift_card_6682391") == 1792.91


def test_modify_payment_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "modify_pending_order_payment", order_id="#W2443586",
                 payment_method_id="gift_card_2742113") == "Insufficient gift card balance to pay for the order"
    assert error(toolkit, "modify_pending_order_payment", order_id="#W8955613",
                 payment_method_id="gift_card_6682391") == \
        "The new payment method should be different from the current one"
    assert error(toolkit, "modify_pending_order_payment", order_id="#W8955613",
                 payment_method_id="gift_card_2742113") == "Payment method not found"  # another user's card
    assert error(toolkit, "modify_pending_order_payment", order_id="#W9077205",
                 payment_method_id="paypal_4101143") == "Non-pending order cannot be modified"


# --- addresses -----------------------------------------------------------------------------------------


def test_modify_order_address() -> None:
    toolkit = fresh()
    before = toolkit.db["orders"]["#W8955613"]
    order = ok(toolkit, "modify_pending_order_address", order_id="#W8955613", **NEW_ADDRESS)
    assert list(order["address"].items()) == list(NEW_ADDRESS_DUMP.items())
    assert {k: v for k, v in order.items() if k != "address"} == {k: v for k, v in before.items() if k != "address"}
    assert toolkit.db["users"]["olivia_lopez_9494"]["address"]["zip"] == "92107"  # the user's own is untouched
    assert error(toolkit, "modify_pending_order_address", order_id="#W9077205", **NEW_ADDRESS) == \
        "Non-pending order cannot be modified"
    message = error(toolkit, "modify_pending_order_address", order_id="#W8955613", **{**NEW_ADDRESS, "zip": 78701})
    assert message.startswith("1 validation error for UserAddress\nzip\n  Input should be a valid string "
                              "[type=string_type, input_value=78701, input_type=int]")


def test_modify_user_address() -> None:
    toolkit = fresh()
    user = ok(toolkit, "modify_user_address", user_id="olivia_lopez_9494", **NEW_ADDRESS)
    assert user["address"] == NEW_ADDRESS_DUMP
    assert toolkit.db["users"]["olivia_lopez_9494"]["address"] == NEW_ADDRESS_DUMP
    assert toolkit.db["orders"]["#W8955613"]["address"]["city"] == "Houston"  # orders keep theirs
    assert error(toolkit, "modify_user_address", user_id="olivia_lopez_0000", **NEW_ADDRESS) == "User not found"


# --- exchange_delivered_order_items --------------------------------------------------------------------


def test_exchange_records_a_rounded_difference_and_moves_no_money() -> None:
    toolkit = fresh()
    before = json.loads(json.dumps(toolkit.db["orders"]["#W9077205"]))
    # puzzle 45.9 -> 52.01 (+6.11), dumbbells 545.68 -> 534.84 (-10.84)
    order = ok(toolkit, "exchange_delivered_order_items", order_id="#W9077205",
               item_ids=["9370300555", "3877338112"], new_item_ids=["4068787148", "2444431651"],
               payment_method_id="gift_card_7108145")
    assert order["status"] == "exchange requested"
    assert order["exchange_items"] == ["3877338112", "9370300555"]  # sorted
    assert order["exchange_new_items"] == ["2444431651", "4068787148"]  # sorted, so no longer paired
    assert order["exchange_payment_method_id"] == "gift_card_7108145"
    assert order["exchange_price_difference"] == -4.73
    assert order["items"] == before["items"] and order["payment_history"] == before["payment_history"]
    assert gift_balance(toolkit, "amelia_wilson_4614", "gift_card_7108145") == 97.0
    assert error(toolkit, "exchange_delivered_order_items", order_id="#W9077205", item_ids=["9370300555"],
                 new_item_ids=["4068787148"], payment_method_id="gift_card_7108145") == \
        "Non-delivered order cannot be exchanged"


def test_exchange_edge_cases_tau2_accepts() -> None:
    toolkit = fresh()
    # an item for itself (modify refuses this, exchange does not)
    order = ok(toolkit, "exchange_delivered_order_items", order_id="#W9077205", item_ids=["3877338112"],
               new_item_ids=["3877338112"], payment_method_id="paypal_4101143")
    assert order["exchange_price_difference"] == 0.0
    # no items at all: the status changes and the difference stays the integer 0
    text = toolkit.call("exchange_delivered_order_items", {"order_id": "#W7303089", "item_ids": [],
                                                           "new_item_ids": [], "payment_method_id": "paypal_2568958"})
    assert '"exchange_items": [], "exchange_new_items": [], "exchange_payment_method_id": "paypal_2568958", ' \
           '"exchange_price_difference": 0, "return_items": null' in text
    assert json.loads(text)["status"] == "exchange requested"


def test_exchange_errors() -> None:
    toolkit = fresh()
    args = {"order_id": "#W9077205", "payment_method_id": "gift_card_7108145"}
    assert error(toolkit, "exchange_delivered_order_items", item_ids=["1234567890"], new_item_ids=["4068787148"],
                 **args) == "Number of 1234567890 not found."
    assert error(toolkit, "exchange_delivered_order_items", item_ids=["9370300555"], new_item_ids=[], **args) == \
        "The number of items to be exchanged should match."
    assert error(toolkit, "exchange_delivered_order_items", item_ids=["9370300555"], new_item_ids=["3614853563"],
                 **args) == "New item 3614853563 not found or available"
    assert error(toolkit, "exchange_delivered_order_items", item_ids=["9370300555"], new_item_ids=["2444431651"],
                 **args) == "Variant not found"
    assert error(toolkit, "exchange_delivered_order_items", order_id="#W8955613", item_ids=[], new_item_ids=[],
                 payment_method_id="gift_card_6682391") == "Non-delivered order cannot be exchanged"
    # 230.15 -> 269.16 costs 39.01, the gift card holds 39.0
    assert error(toolkit, "exchange_delivered_order_items", order_id="#W8032761", item_ids=["8484921793"],
                 new_item_ids=["7706410293"], payment_method_id="gift_card_2977513") == \
        "Insufficient gift card balance to pay for the price difference"
    assert db_hash(toolkit) == INITIAL_DB_HASH


# --- return_delivered_order_items ----------------------------------------------------------------------


def test_return_to_any_gift_card_of_the_user() -> None:
    toolkit = fresh()
    order = ok(toolkit, "return_delivered_order_items", order_id="#W7728728", item_ids=["8555936349"],
               payment_method_id="gift_card_2742113")  # the order was paid by PayPal
    assert order["status"] == "return requested"
    assert order["return_items"] == ["8555936349"]
    assert order["return_payment_method_id"] == "gift_card_2742113"
    assert order["payment_history"] == [
        {"transaction_type": "payment", "amount": 484.58, "payment_method_id": "paypal_7859314"}]
    assert gift_balance(toolkit, "aarav_nguyen_7344", "gift_card_2742113") == 22.0  # refunded later, not now
    assert {k: order[k] for k in NO_EXTRAS if not k.startswith("return")} == \
        {k: None for k in NO_EXTRAS if not k.startswith("return")}


def test_return_to_the_original_method_sorts_items() -> None:
    toolkit = fresh()
    order = ok(toolkit, "return_delivered_order_items", order_id="#W7303089",
               item_ids=["7381052709", "2492465580"], payment_method_id="credit_card_4387170")
    assert order["return_items"] == ["2492465580", "7381052709"]
    assert order["return_payment_method_id"] == "credit_card_4387170"


def test_return_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "return_delivered_order_items", order_id="#W7303089", item_ids=["7381052709"],
                 payment_method_id="paypal_2568958") == "Payment method should be the original payment method"
    assert error(toolkit, "return_delivered_order_items", order_id="#W7303089",
                 item_ids=["7381052709", "7381052709"], payment_method_id="credit_card_4387170") == \
        "Some item not found"
    assert error(toolkit, "return_delivered_order_items", order_id="#W8955613", item_ids=["2554056026"],
                 payment_method_id="gift_card_6682391") == "Non-delivered order cannot be returned"
    assert error(toolkit, "return_delivered_order_items", order_id="#W7303089", item_ids=["7381052709"],
                 payment_method_id="gift_card_0000000") == "Payment method not found"


# --- read and generic tools: the exact text ------------------------------------------------------------

ORDER_W2611340 = (
    '{"order_id": "#W2611340", "user_id": "james_li_5688", "address": {"address1": "215 River Road", '
    '"address2": "Suite 991", "city": "New York", "country": "USA", "state": "NY", "zip": "10083"}, "items": '
    '[{"name": "Water Bottle", "product_id": "8310926033", "item_id": "6469567736", "price": 47.84, "options": '
    '{"capacity": "1000ml", "material": "glass", "color": "blue"}}, {"name": "Office Chair", "product_id": '
    '"4794339885", "item_id": "8426249116", "price": 488.81, "options": {"material": "fabric", "color": "black", '
    '"armrest": "fixed", "backrest height": "standard"}}], "status": "processed", "fulfillments": [{"tracking_id": '
    '["357962501027"], "item_ids": ["6469567736", "8426249116"]}], "payment_history": [{"transaction_type": '
    '"payment", "amount": 536.65, "payment_method_id": "gift_card_1725971"}], "cancel_reason": null, '
    '"exchange_items": null, "exchange_new_items": null, "exchange_payment_method_id": null, '
    '"exchange_price_difference": null, "return_items": null, "return_payment_method_id": null}'
)

USER_OLIVIA = (
    '{"user_id": "olivia_lopez_9494", "name": {"first_name": "Olivia", "last_name": "Lopez"}, "address": '
    '{"address1": "180 Oak Street", "address2": "Suite 373", "city": "San Diego", "country": "USA", "state": "CA", '
    '"zip": "92107"}, "email": "olivia.lopez8783@example.com", "payment_methods": {"gift_card_6682391": '
    '{"source": "gift_card", "id": "gift_card_6682391", "balance": 35.0}, "credit_card_6044108": {"source": '
    '"credit_card", "id": "credit_card_6044108", "brand": "mastercard", "last_four": "6976"}}, "orders": '
    '["#W8955613"]}'
)

PRODUCT_NOTEBOOK = (
    '{"name": "Notebook", "product_id": "2892623495", "variants": {"1199058591": {"item_id": "1199058591", '
    '"options": {"size": "A4", "cover type": "hard cover"}, "available": true, "price": 32.29}, "6574183535": '
    '{"item_id": "6574183535", "options": {"size": "A6", "cover type": "hard cover"}, "available": false, '
    '"price": 28.14}, "9421195098": {"item_id": "9421195098", "options": {"size": "A6", "cover type": '
    '"soft cover"}, "available": false, "price": 32.37}, "9799386954": {"item_id": "9799386954", "options": '
    '{"size": "A5", "cover type": "soft cover"}, "available": true, "price": 28.59}, "7579176349": {"item_id": '
    '"7579176349", "options": {"size": "A4", "cover type": "soft cover"}, "available": true, "price": 29.28}}}'
)


def test_read_tools_text() -> None:
    toolkit = fresh()
    assert toolkit.call("get_order_details", {"order_id": "#W2611340"}) == ORDER_W2611340
    assert toolkit.call("get_user_details", {"user_id": "olivia_lopez_9494"}) == USER_OLIVIA
    assert toolkit.call("get_product_details", {"product_id": "2892623495"}) == PRODUCT_NOTEBOOK
    assert toolkit.call("get_item_details", {"item_id": "1199058591"}) == (
        '{"item_id": "1199058591", "options": {"size": "A4", "cover type": "hard cover"}, "available": true, '
        '"price": 32.29}')
    assert toolkit.call("find_user_id_by_email", {"email": "olivia.lopez8783@example.com"}) == "olivia_lopez_9494"
    assert toolkit.call("find_user_id_by_name_zip", {"first_name": "Olivia", "last_name": "Lopez",
                                                     "zip": "92107"}) == "olivia_lopez_9494"
    types = toolkit.call("list_all_product_types", {})
    assert types.startswith('{"Action Camera": "3377618313", "Air Purifier": "3821016478", "Backpack": ')
    assert types.endswith('"Wristwatch": "6066914160", "Yoga Mat": "4635925001"}')
    assert len(json.loads(types)) == 50


def test_read_tool_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "get_order_details", order_id="W2611340") == "Order not found"
    assert error(toolkit, "get_user_details", user_id="nobody") == "User not found"
    assert error(toolkit, "get_product_details", product_id="1199058591") == "Product not found"  # an item id
    assert error(toolkit, "get_item_details", item_id="2892623495") == "Item not found"  # a product id
    assert error(toolkit, "find_user_id_by_email", email="nobody@example.com") == "User not found"
    assert error(toolkit, "find_user_id_by_name_zip", first_name="Olivia", last_name="Lopez",
                 zip="77277") == "User not found"  # the order's zip, not the user's
    assert toolkit.response("get_order_details", {"order_id": "#W0"}) == ("Error: Order not found", True)


def test_lookups_fold_case_and_accents_but_not_the_zip() -> None:
    toolkit = fresh()
    assert toolkit.call("find_user_id_by_name_zip", {"first_name": "ÓLIVIA", "last_name": " lopez ",
                                                     "zip": "92107"}) == "olivia_lopez_9494"
    assert toolkit.call("find_user_id_by_email", {"email": "Olivia.Lopez8783@EXAMPLE.com"}) == "olivia_lopez_9494"
    assert error(toolkit, "find_user_id_by_name_zip", first_name="Olivia", last_name="Lopez",
                 zip=" 92107") == "User not found"


def test_generic_tools() -> None:
    toolkit = fresh()
    assert toolkit.call("calculate", {"expression": "10 / 3"}) == "3.33"
    assert toolkit.call("calculate", {"expression": "2 ** 10"}) == "1024.0"
    assert toolkit.call("calculate", {"expression": "(652.61 + 473.43) * 1"}) == "1126.04"
    assert error(toolkit, "calculate", expression="abs(1)") == "Invalid characters in expression"
    assert error(toolkit, "calculate", expression="1/0") == "division by zero"
    assert error(toolkit, "calculate", expression="(1") == "'(' was never closed (<string>, line 1)"
    assert toolkit.call("transfer_to_human_agents", {"summary": "wants a refund in cash"}) == "Transfer successful"


def test_call_errors_read_as_tau2s() -> None:
    toolkit = fresh()
    assert error(toolkit, "get_order_details", order_id="#W2611340", bogus=1) == \
        "RetailTools.get_order_details() got an unexpected keyword argument 'bogus'"
    assert error(toolkit, "get_order_details") == \
        "RetailTools.get_order_details() missing 1 required positional argument: 'order_id'"
    assert error(toolkit, "think", thought="hm") == "Tool 'think' not found."
    assert error(toolkit, "get_order_details", order_id=["#W2611340"]) == "unhashable type: 'list'"


# --- specs ---------------------------------------------------------------------------------------------

KINDS = {
    "find_user_id_by_email": "read", "find_user_id_by_name_zip": "read", "get_item_details": "read",
    "get_order_details": "read", "get_product_details": "read", "get_user_details": "read",
    "list_all_product_types": "read",
    "cancel_pending_order": "write", "exchange_delivered_order_items": "write",
    "modify_pending_order_address": "write", "modify_pending_order_items": "write",
    "modify_pending_order_payment": "write", "modify_user_address": "write", "return_delivered_order_items": "write",
    "calculate": "generic", "transfer_to_human_agents": "generic",
}

PARAMETERS = {
    "calculate": ["expression"],
    "cancel_pending_order": ["order_id", "reason"],
    "exchange_delivered_order_items": ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    "find_user_id_by_email": ["email"],
    "find_user_id_by_name_zip": ["first_name", "last_name", "zip"],
    "get_item_details": ["item_id"],
    "get_order_details": ["order_id"],
    "get_product_details": ["product_id"],
    "get_user_details": ["user_id"],
    "list_all_product_types": [],
    "modify_pending_order_address": ["order_id", "address1", "address2", "city", "state", "country", "zip"],
    "modify_pending_order_items": ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    "modify_pending_order_payment": ["order_id", "payment_method_id"],
    "modify_user_address": ["user_id", "address1", "address2", "city", "state", "country", "zip"],
    "return_delivered_order_items": ["order_id", "item_ids", "payment_method_id"],
    "transfer_to_human_agents": ["summary"],
}


def test_tool_specs_are_complete() -> None:
    specs = {s.name: s for s in RetailTools.tool_specs()}
    assert set(specs) == set(KINDS)
    assert {name: RetailTools.tool_kind(name) for name in specs} == KINDS
    kinds = list(KINDS.values())
    assert (kinds.count("read"), kinds.count("write"), kinds.count("generic")) == (7, 7, 2)
    assert RetailTools.tool_specs("user") == []
    for name, spec in specs.items():
        assert len(spec.description) > 30, name
        props = spec.parameters["properties"]
        assert list(props) == PARAMETERS[name], name
        assert spec.parameters.get("required", []) == PARAMETERS[name], name  # no optional arguments
        for pname, schema in props.items():
            assert len(schema.get("description", "")) > 5, (name, pname)
            expected = {"type": "array", "items": {"type": "string"}} if pname.endswith("item_ids") \
                else {"type": "string"}
            assert {k: v for k, v in schema.items() if k not in ("description", "title")} == expected, (name, pname)
    assert "'#'" in specs["get_order_details"].parameters["properties"]["order_id"]["description"]
    assert "'no longer needed' or 'ordered by mistake'" in \
        specs["cancel_pending_order"].parameters["properties"]["reason"]["description"]
    for name in ("find_user_id_by_email", "list_all_product_types", "get_order_details", "calculate"):
        assert not RetailTools.is_mutating(name)
    assert all(RetailTools.is_mutating(n) for n, k in KINDS.items() if k == "write")


def test_registry() -> None:
    assert toolkit_for("retail") is RetailTools
    assert TOOLKITS["retail"] is RetailTools
    with pytest.raises(DataError, match=r"'nowhere'.*known domains: .*mock, retail"):
        toolkit_for("nowhere")
