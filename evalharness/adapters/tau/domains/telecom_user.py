"""τ²-bench's telecom domain, the user's side: the simulated user's phone and where it stands.

The user database holds a ``device`` (SIM, radios, APN, Wi-Fi, VPN, apps) and its ``surroundings`` (who
the user is, whether abroad, the signal of each network technology, and what the carrier's records say:
line active, roaming allowed, data allowance exceeded, a payment request). The agent never sees it; the
user's tools read and change it, tasks set it up through the functions marked ``env_function("user")``
and check it with the ``assert_*`` functions. Semantics follow τ²-bench's ``TelecomUserTools``
(``src/tau2/domains/telecom/user_tools.py``); behaviour kept on purpose:

- Connection state is derived only by a *network search* (``simulate_network_search``), which toggling
  airplane mode, data, roaming, the network mode, the SIM or the APN triggers, and Wi-Fi or data saver
  changes do not; a suspended line shows as no service only after the next search.
- Mobile data works only with airplane mode off, a signal, service, roaming both on the phone and
  allowed by the carrier when abroad, data on and the allowance not exceeded. A speed test is the middle
  of the technology's range times the signal's factor, a tenth with a poorly performing VPN and a fifth
  with data saver on.
- Resetting the APN only marks it for reset: the defaults come back at the next reboot. A toggle tool
  answers with the status bar; ``connect_vpn`` on a connected VPN does not.
- A VPN's details read as the repr of a dict holding an enum member, and an unknown permission lists the
  tracked ones as a Python list, as τ²-bench prints them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalharness.adapters.tau.domains._common import env_function
from evalharness.adapters.tau.toolkit import assertion, user_tool

SimStatus = Literal["active", "missing", "locked_pin", "locked_puk"]
NetworkTechnology = Literal["none", "2G", "3G", "4G", "5G"]
SignalStrength = Literal["none", "poor", "fair", "good", "excellent"]
PerformanceLevel = Literal["unknown", "poor", "fair", "good", "excellent"]
NetworkStatus = Literal["connected", "searching", "no_service", "emergency_only"]

NETWORK_STATUSES = ("connected", "searching", "no_service", "emergency_only")
# the technology each network mode connects to; 4G/5G preferred takes 5G wherever there is a 5G signal
MODE_TECHNOLOGY = {"4g_only": "4G", "3g_only": "3G", "2g_only": "2G"}
SIGNAL_ICONS = {"none": "📵 No Signal", "poor": "📶¹ Poor", "fair": "📶² Fair", "good": "📶³ Good",
                "excellent": "📶⁴ Excellent"}
SPEED_RANGE_MBPS = {"2G": (0.1, 0.4), "3G": (1.0, 5.0), "4G": (10.0, 100.0), "5G": (50.0, 500.0),
                    "none": (0.0, 0.0)}
SIGNAL_FACTOR = {"poor": 0.2, "fair": 0.5, "good": 0.8, "excellent": 1.0, "none": 0.0}
SPEED_ADVICE = {
    "Very Poor": "Connection is very slow. Basic web browsing might be difficult.",
    "Poor": "Connection is slow. Web browsing may be sluggish, streaming difficult.",
    "Fair": "Connection is okay for web browsing and some standard definition streaming.",
    "Good": "Connection is good for most activities, including HD streaming.",
    "Excellent": "Connection is very fast.",
}
SIM_STATUS_TEXT = {
    "active": "Your SIM card is active and working.",
    "missing": "No SIM card detected in the phone.",
    "locked_pin": "The SIM card is locked with a PIN code.",
    "locked_puk": "The SIM card is locked with a PUK code.",
}
NO_SERVICE = {"network_connection_status": "no_service", "network_technology_connected": "none",
              "network_signal_strength": "none"}


class NoExtra(BaseModel):
    model_config = ConfigDict(extra="forbid")


# enums where τ²-bench has enums: a tool's schema names them in its ``$defs``
class NetworkModePreference(StrEnum):
    FOUR_G_5G_PREFERRED = "4g_5g_preferred"
    FOUR_G_ONLY = "4g_only"
    THREE_G_ONLY = "3g_only"
    TWO_G_ONLY = "2g_only"


NETWORK_MODES = tuple(mode.value for mode in NetworkModePreference)


class APNNames(StrEnum):
    INTERNET = "internet"
    BROKEN = "broken"


class APNSettings(NoExtra):
    apn_name: APNNames = APNNames.INTERNET
    reset_at_reboot: bool = False
    mms_apn: str | None = "mms"
    mmsc_url: str | None = "http://mms.carrier.com/mms/wapenc"
    mms_proxy: str | None = None
    mms_port: int | None = None


class VpnDetails(NoExtra):
    server_address: str | None = None
    protocol: str | None = None
    server_performance: PerformanceLevel = "unknown"


class AppPermissions(NoExtra):
    sms: bool = False
    storage: bool = False
    phone: bool = False
    network: bool = False


class AppStatus(NoExtra):
    app_name: str
    permissions: AppPermissions = Field(default_factory=AppPermissions)


def _default_apps() -> dict[str, AppStatus]:
    return {"messaging": AppStatus(app_name="messaging",
                                   permissions=AppPermissions(sms=True, storage=True, phone=True)),
            "browser": AppStatus(app_name="browser", permissions=AppPermissions(network=True, storage=True))}


class MockPhoneAttributes(NoExtra):
    sim_card_status: SimStatus = "active"
    sim_card_missing: bool = False
    airplane_mode: bool = False
    network_signal_strength: SignalStrength = "good"
    network_technology_connected: NetworkTechnology = "5G"
    network_connection_status: NetworkStatus = "connected"
    battery_level: int = 80
    data_enabled: bool = True
    roaming_enabled: bool = False
    network_mode_preference: NetworkModePreference = NetworkModePreference.FOUR_G_5G_PREFERRED
    active_apn_settings: APNSettings = Field(default_factory=APNSettings)
    wifi_enabled: bool = False
    wifi_connected: bool = False
    wifi_ssid: str | None = None
    wifi_signal_strength: SignalStrength = "none"
    wifi_calling_enabled: bool = False
    wifi_calling_mms_over_wifi: bool = False
    data_saver_mode: bool = False
    vpn_enabled_setting: bool = False
    vpn_connected: bool = False
    vpn_details: VpnDetails | None = None
    app_statuses: dict[str, AppStatus] = Field(default_factory=_default_apps)


class PaymentRequest(NoExtra):
    bill_id: str
    amount_due: float
    paid: bool = False


def _default_signal() -> dict[str, str]:
    return {"2G": "poor", "3G": "fair", "4G": "good", "5G": "excellent"}


class UserSurroundings(NoExtra):
    name: str | None = None
    phone_number: str | None = None
    is_abroad: bool = False
    roaming_allowed: bool = False
    signal_strength: dict[NetworkTechnology, SignalStrength] = Field(default_factory=_default_signal)
    mobile_data_usage_exceeded: bool = False
    line_active: bool = True
    payment_request: PaymentRequest | None = None


class TelecomUserDB(NoExtra):
    device: MockPhoneAttributes = Field(default_factory=MockPhoneAttributes)
    surroundings: UserSurroundings = Field(default_factory=UserSurroundings)


DEFAULT_VPN = VpnDetails(server_address="192.168.1.1", protocol="OpenVPN", server_performance="excellent")


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


class TelecomUserTools:
    """The simulated user's phone (a mixin of ``TelecomTools``; named as τ²-bench's class)."""

    user_db: dict[str, Any]

    @property
    def device(self) -> dict[str, Any]:
        return self.user_db["device"]

    @property
    def surroundings(self) -> dict[str, Any]:
        return self.user_db["surroundings"]

    def _with_status_bar(self, text: str) -> str:
        return f"{text}\nStatus Bar: {self._status_bar()}"

    # --- scenario set-up -----------------------------------------------------------------------------

    @env_function("user")
    def set_user_info(self, name: str, phone_number: str) -> None:
        """Who the user is: the phone number ties the device to a line of the carrier's database."""
        self.surroundings["name"] = name
        self.surroundings["phone_number"] = phone_number

    @env_function("user")
    def set_user_location(self, abroad: bool) -> None:
        """Put the user abroad (roaming then matters) or at home."""
        self.surroundings["is_abroad"] = abroad

    @env_function("user")
    def turn_airplane_mode_on(self) -> str:
        """Airplane mode on, through the toggle (so its side effects happen)."""
        if not self._toggle_airplane_mode():
            self._toggle_airplane_mode()
        return "Airplane Mode is now ON."

    @env_function("user")
    def turn_airplane_mode_off(self) -> str:
        """Airplane mode off, through the toggle."""
        if self._toggle_airplane_mode():
            self._toggle_airplane_mode()
        return "Airplane Mode is now OFF."

    @env_function("user")
    def unseat_sim_card(self) -> str:
        """Take the SIM card out; ``reseat_sim_card`` puts it back."""
        self.device["sim_card_missing"] = True
        self.simulate_network_search()
        return "SIM card un-seated successfully."

    @env_function("user")
    def lock_sim_card(self, mode: Literal["pin", "puk"]) -> str:
        """Lock the SIM with its PIN or PUK: no tool of the user's can undo it."""
        if mode in ("pin", "puk"):
            self.device["sim_card_status"] = f"locked_{mode}"
        self.simulate_network_search()
        return f"SIM card locked successfully in {mode} mode."

    @env_function("user")
    def turn_data_on(self) -> str:
        """Mobile data on without a network search."""
        self.device["data_enabled"] = True
        return "Data connection restored."

    @env_function("user")
    def turn_data_off(self) -> str:
        """Mobile data off, through the toggle."""
        if self._toggle_flag("data_enabled"):
            self._toggle_flag("data_enabled")
        return "Data connection broken."

    @env_function("user")
    def turn_roaming_on(self) -> str:
        """Data roaming on, through the toggle."""
        if not self._toggle_flag("roaming_enabled"):
            self._toggle_flag("roaming_enabled")
        return "Data Roaming is now ON."

    @env_function("user")
    def turn_roaming_off(self) -> str:
        """Data roaming off, through the toggle."""
        if self._toggle_flag("roaming_enabled"):
            self._toggle_flag("roaming_enabled")
        return "Data Roaming is now OFF."

    @env_function("user")
    def turn_data_saver_mode_on(self) -> str:
        """Data saver on."""
        self.device["data_saver_mode"] = True
        return "Data Saver Mode is now ON."

    @env_function("user")
    def turn_data_saver_mode_off(self) -> str:
        """Data saver off."""
        self.device["data_saver_mode"] = False
        return "Data Saver Mode is now OFF."

    @env_function("user")
    def break_apn_settings(self) -> str:
        """A broken APN: no service until the APN is reset and the phone rebooted."""
        self.device["active_apn_settings"]["apn_name"] = "broken"
        self.simulate_network_search()
        return "APN settings broken. Please call reset_apn_settings() to fix."

    @env_function("user")
    def break_apn_mms_setting(self) -> str:
        """No MMSC URL: MMS fails until the APN is reset and the phone rebooted."""
        self.device["active_apn_settings"]["mmsc_url"] = None
        return "APN MMS setting broken. Please call reset_apn_settings() to fix."

    @env_function("user")
    def set_wifi_calling(self, enabled: bool, mms_over_wifi: bool | None = None) -> str:
        """Wi-Fi calling on or off, and MMS over Wi-Fi when given."""
        self.device["wifi_calling_enabled"] = enabled
        message = f"Wi-Fi Calling is now {_on_off(enabled)}."
        if mms_over_wifi is not None:
            self.device["wifi_calling_mms_over_wifi"] = mms_over_wifi
            message += f"\nMMS over Wi-Fi is now {_on_off(mms_over_wifi)}."
        return message

    @env_function("user")
    def break_vpn(self) -> str:
        """A connected VPN whose server performs poorly: mobile data becomes slow."""
        self._connect_vpn()
        self.device["vpn_details"]["server_performance"] = "poor"
        return "VPN connection broken."

    @env_function("user")
    def remove_app_permission(self, app_name: str, permission: str) -> tuple[bool, str]:
        """Take a permission from an app."""
        app = self.device["app_statuses"].get(app_name)
        permission = permission.lower()
        if not app:
            return False, f"App '{app_name}' not found. Cannot remove permission."
        if permission not in app["permissions"]:
            return False, f"Permission '{permission}' not tracked for app '{app_name}'."
        app["permissions"][permission] = False
        return True, f"Permission '{permission}' removed from app '{app_name}'."

    @env_function("user")
    def simulate_network_search(self) -> None:
        """Reconnect the phone as its SIM, network mode, radios, APN and line allow."""
        device = self.device
        if self._sim_status() == "active":
            technology = MODE_TECHNOLOGY.get(device["network_mode_preference"], "4G")
            signal = self.surroundings["signal_strength"]
            if device["network_mode_preference"] == "4g_5g_preferred" and signal.get("5G", "none") != "none":
                technology = "5G"
            device.update(network_connection_status="connected", network_technology_connected=technology,
                          network_signal_strength=signal.get(technology, "none"))
        else:
            device.update(NO_SERVICE)
        if (device["airplane_mode"] or device["active_apn_settings"]["apn_name"] == "broken"
                or not self.surroundings["line_active"]):
            device.update(NO_SERVICE)

    # --- status --------------------------------------------------------------------------------------

    def _status_bar(self) -> str:
        device = self.device
        if device["airplane_mode"]:
            icons = ["✈️ Airplane Mode"]
        else:
            icons = [SIGNAL_ICONS.get(device["network_signal_strength"], "📵 No Signal")]
            connected = device["network_technology_connected"] != "none"
            if connected:
                icons.append(device["network_technology_connected"])
            if device["data_enabled"] and connected:
                icons.append("📱 Data Enabled")
                if device["data_saver_mode"]:
                    icons.append("🔽 Data Saver")
            else:
                icons.append("📵 Data Disabled")
        if device["wifi_enabled"] and device["wifi_connected"]:
            icons.append(f"📡 Connected to {device['wifi_ssid']}" if device["wifi_ssid"] else "📡 Enabled")
        if device["vpn_connected"]:
            icons.append("🔒 VPN Connected")
        icons.append(f"🔋 {device['battery_level']}%")
        return " | ".join(icons)

    @user_tool("read")
    def check_status_bar(self) -> str:
        """Show the icons of the phone's status bar: signal, network, mobile data, Wi-Fi, VPN, battery."""
        return f"Status Bar: {self._status_bar()}"

    def _sim_status(self) -> str:
        return "missing" if self.device["sim_card_missing"] else self.device["sim_card_status"]

    @user_tool("read")
    def check_network_status(self) -> str:
        """Show the phone's connection: airplane mode, SIM, cellular service, signal and network type, mobile
        data, data roaming and Wi-Fi."""
        device = self.device
        lines = [
            f"Airplane Mode: {_on_off(device['airplane_mode'])}",
            f"SIM Card Status: {self._sim_status()}",
            f"Cellular Connection: {device['network_connection_status']}",
            f"Cellular Signal: {device['network_signal_strength']}",
            f"Cellular Network Type: {device['network_technology_connected']}",
            f"Mobile Data Enabled: {'Yes' if device['data_enabled'] else 'No'}",
            f"Data Roaming Enabled: {'Yes' if device['roaming_enabled'] else 'No'}",
            f"Wi-Fi Radio: {_on_off(device['wifi_enabled'])}",
            f"Wi-Fi Connected: {'Yes' if device['wifi_connected'] else 'No'}",
        ]
        if device["wifi_connected"]:
            lines.append(f"Connected Wi-Fi Network: {device['wifi_ssid']}")
        return "\n".join(lines)

    @user_tool("read")
    def check_network_mode_preference(self) -> str:
        """Show which cellular network types the phone prefers."""
        return f"Network Mode Preference: {self.device['network_mode_preference']}"

    @user_tool("write")
    def set_network_mode_preference(self, mode: NetworkModePreference | str) -> str:
        """Choose which cellular network types the phone prefers; the phone then searches the network again.

        Args:
            mode: One of 4g_5g_preferred, 4g_only, 3g_only, 2g_only.
        """
        if mode not in NETWORK_MODES:
            return self._with_status_bar(f"Failed to set network mode: '{mode}' is not a valid option. "
                                         f"Please use one of: {', '.join(NETWORK_MODES)}")
        self.device["network_mode_preference"] = mode
        self.simulate_network_search()
        return self._with_status_bar(f"Preferred Network Mode set to: {mode}")

    def _mobile_data_working(self) -> bool:
        device, surroundings = self.device, self.surroundings
        if device["airplane_mode"] or device["network_signal_strength"] == "none":
            return False
        if device["network_connection_status"] == "no_service":
            return False
        if surroundings["is_abroad"] and not (device["roaming_enabled"] and surroundings["roaming_allowed"]):
            return False
        return device["data_enabled"] and not surroundings["mobile_data_usage_exceeded"]

    def _speed_test(self) -> tuple[float | None, str]:
        if not self._mobile_data_working():
            return None, "No Connection"
        device = self.device
        factor = 1.0
        vpn = device["vpn_details"] if device["vpn_connected"] else None
        if vpn and vpn["server_performance"] == "poor":
            factor = 0.1
        if device["data_saver_mode"]:
            factor *= 0.2
        low, high = SPEED_RANGE_MBPS.get(device["network_technology_connected"], (0.0, 0.0))
        signal = SIGNAL_FACTOR.get(device["network_signal_strength"], 0.0)
        speed = round((low + high) / 2.0 * signal * factor, 2)
        for limit, description in ((1, "Very Poor"), (5, "Poor"), (25, "Fair"), (100, "Good")):
            if speed < limit:
                return speed, description
        return speed, "Excellent"

    @user_tool("read")
    def run_speed_test(self) -> str:
        """Measure the phone's mobile download speed and say what it is good for."""
        speed, description = self._speed_test()
        if speed is None:
            return f"Speed test failed: {description}."
        return f"Speed Test Result: {speed:.2f} Mbps ({description}). {SPEED_ADVICE[description]}"

    # --- radios and SIM ------------------------------------------------------------------------------

    def _toggle_airplane_mode(self) -> bool:
        device = self.device
        turning_on = not device["airplane_mode"]
        device["airplane_mode"] = turning_on
        if turning_on or device["wifi_enabled"]:
            device.update(wifi_connected=False, wifi_ssid=None, wifi_signal_strength="none")
        if turning_on and device["vpn_connected"]:
            self._disconnect_vpn()
        if not turning_on:
            device["network_connection_status"] = "searching"
        self.simulate_network_search()
        return turning_on

    @user_tool("write")
    def toggle_airplane_mode(self) -> str:
        """Switch airplane mode on or off; on, it cuts cellular, Wi-Fi and VPN."""
        return self._with_status_bar(f"Airplane Mode is now {_on_off(self._toggle_airplane_mode())}.")

    @user_tool("read")
    def check_sim_status(self) -> str:
        """Say whether the SIM card works, is missing, or is locked by PIN or PUK."""
        return SIM_STATUS_TEXT[self._sim_status()]

    @user_tool("write")
    def reseat_sim_card(self) -> str:
        """Take the SIM card out and put it back in."""
        self.device["sim_card_missing"] = False
        self.simulate_network_search()
        return self._with_status_bar("SIM card re-seated successfully.")

    def _toggle_flag(self, field: str) -> bool:
        """Flip a setting whose change makes the phone search the network again."""
        self.device[field] = not self.device[field]
        self.simulate_network_search()
        return self.device[field]

    @user_tool("write")
    def toggle_data(self) -> str:
        """Switch mobile data on or off."""
        return self._with_status_bar(f"Mobile Data is now {_on_off(self._toggle_flag('data_enabled'))}.")

    @user_tool("write")
    def toggle_roaming(self) -> str:
        """Switch data roaming on or off (data abroad needs it, and the carrier must allow it)."""
        return self._with_status_bar(f"Data Roaming is now {_on_off(self._toggle_flag('roaming_enabled'))}.")

    @user_tool("read")
    def check_data_restriction_status(self) -> str:
        """Say whether data saver is on."""
        return "Data Saver mode is ON (limits data usage)." if self.device["data_saver_mode"] \
            else "Data Saver mode is OFF."

    @user_tool("write")
    def toggle_data_saver_mode(self) -> str:
        """Switch data saver on or off; on, it saves data and slows it down."""
        self.device["data_saver_mode"] = not self.device["data_saver_mode"]
        return self._with_status_bar(f"Data Saver Mode is now {_on_off(self.device['data_saver_mode'])}.")

    # --- APN -----------------------------------------------------------------------------------------

    @user_tool("read")
    def check_apn_settings(self) -> str:
        """Show the APN name and the MMSC URL (used for picture messages)."""
        settings = self.device["active_apn_settings"]
        return (f"Current APN Name: {settings['apn_name'] or 'Not Set'}\n"
                f"MMSC URL (for picture messages): {settings['mmsc_url'] or 'Not Set'}\n"
                "(These are technical settings, usually best left unchanged.)")

    @user_tool("write")
    def set_apn_settings(self, apn_settings: APNSettings | dict[str, Any]) -> str:
        """Replace the phone's APN settings.

        Args:
            apn_settings: The new APN settings.
        """
        if not isinstance(apn_settings, dict):
            raise AttributeError(f"'{type(apn_settings).__name__}' object has no attribute 'apn_name'")
        settings = APNSettings(**apn_settings).model_dump(mode="json")
        self.device["active_apn_settings"] = settings
        self.simulate_network_search()
        return self._with_status_bar(f"APN settings set to: {settings['apn_name']}")

    @user_tool("write")
    def reset_apn_settings(self) -> str:
        """Restore the default APN settings (they apply at the next reboot)."""
        self.device["active_apn_settings"]["reset_at_reboot"] = True
        self.simulate_network_search()
        return self._with_status_bar("APN settings will reset at reboot.")

    # --- Wi-Fi and calling ---------------------------------------------------------------------------

    @user_tool("read")
    def check_wifi_status(self) -> str:
        """Say whether Wi-Fi is on, which network it is connected to and how strong it is."""
        device = self.device
        if not device["wifi_enabled"]:
            return "Wi-Fi is turned OFF."
        if device["wifi_connected"]:
            return (f"Wi-Fi is ON and connected to '{device['wifi_ssid']}'. "
                    f"Signal strength: {device['wifi_signal_strength']}.")
        return "Wi-Fi is ON but not connected to any network."

    @user_tool("write")
    def toggle_wifi(self) -> str:
        """Switch the Wi-Fi radio on or off (not while airplane mode is on)."""
        device = self.device
        if device["airplane_mode"]:
            return self._with_status_bar("Cannot change Wi-Fi settings while Airplane Mode is ON.")
        device["wifi_enabled"] = not device["wifi_enabled"]
        if not device["wifi_enabled"]:
            device.update(wifi_connected=False, wifi_ssid=None, wifi_signal_strength="none")
        return self._with_status_bar(f"Wi-Fi is now {_on_off(device['wifi_enabled'])}.")

    @user_tool("read")
    def check_wifi_calling_status(self) -> str:
        """Say whether Wi-Fi calling is on."""
        return f"Wi-Fi Calling is currently turned {_on_off(self.device['wifi_calling_enabled'])}."

    @user_tool("write")
    def toggle_wifi_calling(self) -> str:
        """Switch Wi-Fi calling (calls over Wi-Fi instead of the cellular network) on or off."""
        self.device["wifi_calling_enabled"] = not self.device["wifi_calling_enabled"]
        return self._with_status_bar(f"Wi-Fi Calling is now {_on_off(self.device['wifi_calling_enabled'])}.")

    # --- VPN -----------------------------------------------------------------------------------------

    @user_tool("read")
    def check_vpn_status(self) -> str:
        """Say whether a VPN is connected, with its details."""
        device = self.device
        if device["vpn_connected"]:
            if device["vpn_details"]:
                return f"VPN is ON and connected. Details: {_vpn_repr(device['vpn_details'])}"
            return "VPN is ON and connected (no specific details available)."
        if device["vpn_enabled_setting"]:
            return "VPN is turned ON in settings, but currently not connected."
        return "VPN is turned OFF."

    def _connect_vpn(self) -> bool:
        if self.device["vpn_connected"]:
            return False
        self.device["vpn_connected"] = True
        self.device["vpn_details"] = DEFAULT_VPN.model_dump(mode="json")
        return True

    @user_tool("write")
    def connect_vpn(self) -> str:
        """Connect the VPN."""
        if not self._connect_vpn():
            return "VPN already connected."
        return self._with_status_bar("VPN connected successfully.")

    def _disconnect_vpn(self) -> bool:
        if not self.device["vpn_connected"]:
            return False
        self.device["vpn_connected"] = False
        self.device["vpn_details"] = None
        return True

    @user_tool("write")
    def disconnect_vpn(self) -> str:
        """Disconnect the VPN."""
        return self._with_status_bar("VPN disconnected successfully." if self._disconnect_vpn()
                                     else "No active VPN connection to disconnect.")

    # --- apps and MMS --------------------------------------------------------------------------------

    @user_tool("read")
    def check_installed_apps(self) -> str:
        """List the apps installed on the phone."""
        return f"The following apps are installed on the phone: {', '.join(self.device['app_statuses'])}"

    @staticmethod
    def _granted(permissions: dict[str, bool]) -> list[str]:
        return [name.replace("_", " ").lower() for name, allowed in permissions.items() if allowed]

    @user_tool("read")
    def check_app_status(self, app_name: str) -> str:
        """Show an app's status and the permissions it has.

        Args:
            app_name: The app's name, as check_installed_apps lists it.
        """
        app = self.device["app_statuses"].get(app_name)
        if not app:
            return f"App '{app_name}' not found on this phone."
        granted = self._granted(app["permissions"])
        lines = [f"Status for App: {app_name}"]
        lines += [" - Permissions Granted:"] + [f"   - {name}" for name in granted] if granted \
            else [" - Permissions: None granted."]
        return "\n".join(lines)

    @user_tool("read")
    def check_app_permissions(self, app_name: str) -> str:
        """List the permissions an app has.

        Args:
            app_name: The app's name, as check_installed_apps lists it.
        """
        app = self.device["app_statuses"].get(app_name)
        if not app:
            return f"App '{app_name}' not found on this phone."
        granted = self._granted(app["permissions"])
        if not granted:
            return f"App '{app_name}' currently has no permissions granted."
        return f"App '{app_name}' has permission for: {', '.join(granted)}."

    @user_tool("write")
    def grant_app_permission(self, app_name: str, permission: str) -> str:
        """Give an app a permission (sms, storage, phone or network).

        Args:
            app_name: The app's name, as check_installed_apps lists it.
            permission: The permission, in lowercase.
        """
        app = self.device["app_statuses"].get(app_name)
        permission = permission.lower()
        if not app:
            return self._with_status_bar(f"Error. App '{app_name}' not found. Cannot grant permission.")
        if permission not in app["permissions"]:
            return self._with_status_bar(f"Error. Permission '{permission}' not tracked for app '{app_name}', "
                                         f"available permissions: {list(app['permissions'])}")
        app["permissions"][permission] = True
        return self._with_status_bar(f"Success. Permission '{permission}' granted to app '{app_name}'.")

    def _can_send_mms(self) -> bool:
        device = self.device
        if not self._mobile_data_working() or device["network_technology_connected"] == "2G":
            return False
        if device["wifi_calling_enabled"] and device["wifi_calling_mms_over_wifi"]:
            return False  # the carrier does not carry MMS over Wi-Fi
        if device["active_apn_settings"]["mmsc_url"] is None:
            return False
        messaging = device["app_statuses"].get("messaging")
        return bool(messaging) and messaging["permissions"]["storage"] and messaging["permissions"]["sms"]

    @user_tool("read")
    def can_send_mms(self) -> str:
        """Say whether the messaging app can send picture messages (MMS)."""
        return "Your messaging app can send MMS messages." if self._can_send_mms() \
            else "Your messaging app cannot send MMS messages."

    @user_tool("write")
    def reboot_device(self) -> str:
        """Restart the phone: pending APN resets apply and the phone searches the network again."""
        lines = []
        if self.device["active_apn_settings"]["reset_at_reboot"]:
            lines.append("Resetting APN settings...")
            self.device["active_apn_settings"] = APNSettings().model_dump(mode="json")
        lines.append("Restarting network services...")
        self.device["network_connection_status"] = "searching"
        self.simulate_network_search()
        return self._with_status_bar("\n".join(lines))

    # --- payments ------------------------------------------------------------------------------------

    @user_tool("read")
    def check_payment_request(self) -> str:
        """Say whether the agent has sent a payment request, for which bill and how much."""
        request = self.surroundings["payment_request"]
        if request is None:
            return "No payment request has been made."
        return f"You have a payment request for bill {request['bill_id']} of {request['amount_due']} USD."

    @user_tool("write")
    def make_payment(self) -> str:
        """Pay the bill of the agent's payment request."""
        request = self.surroundings["payment_request"]
        if request is None:
            return "You do not have a payment request."
        request["paid"] = True
        return f"Payment of {request['amount_due']} USD has been made for bill {request['bill_id']}."

    # --- assertions ----------------------------------------------------------------------------------

    @assertion
    @env_function("user")
    def assert_airplane_mode_status(self, expected_status: bool) -> bool:
        """Whether airplane mode is as expected."""
        return self.device["airplane_mode"] == expected_status

    @assertion
    @env_function("user")
    def assert_service_status(self, expected_status: str) -> bool:
        """Whether the cellular connection status is as expected."""
        if expected_status not in NETWORK_STATUSES:
            raise ValueError(f"{expected_status!r} is not a valid NetworkStatus")
        return self.device["network_connection_status"] == expected_status

    @assertion
    @env_function("user")
    def assert_mobile_data_status(self, expected_status: bool) -> bool:
        """Whether mobile data works (or does not) as expected."""
        return self._mobile_data_working() == expected_status

    @assertion
    @env_function("user")
    def assert_mobile_roaming_status(self, expected_status: bool) -> bool:
        """Whether the phone's data roaming setting is as expected."""
        return self.device["roaming_enabled"] == expected_status

    @assertion
    @env_function("user")
    def assert_mobile_data_saver_mode_status(self, expected_status: bool) -> bool:
        """Whether data saver is as expected."""
        return self.device["data_saver_mode"] == expected_status

    @assertion
    @env_function("user")
    def assert_internet_speed(self, expected_speed: float, expected_desc: str | None = None) -> bool:
        """Whether the speed test reaches a speed (and, when given, its description)."""
        speed, description = self._speed_test()
        speed = speed or 0.0
        if expected_desc is None:
            return speed >= expected_speed
        return speed >= expected_speed and description.lower() == expected_desc.lower()

    @assertion
    @env_function("user")
    def assert_internet_not_excellent(self) -> bool:
        """Whether the speed test says anything but excellent."""
        return self._speed_test()[1].lower() != "excellent"

    @assertion
    @env_function("user")
    def assert_can_send_mms(self, expected_status: bool) -> bool:
        """Whether MMS can (or cannot) be sent, as expected."""
        return self._can_send_mms() == expected_status

    @assertion
    @env_function("user")
    def assert_mobile_data_usage_exceeded(self, expected_status: bool) -> bool:
        """Whether the carrier's records say the data allowance is used up, as expected."""
        return self.surroundings["mobile_data_usage_exceeded"] == expected_status


def _vpn_repr(details: dict[str, Any]) -> str:
    """VPN details as τ²-bench prints them: a dict's repr whose performance is an enum member."""
    shown = {key: value for key, value in details.items() if key != "server_performance"}
    body = ", ".join(f"{key!r}: {value!r}" for key, value in shown.items())
    performance = details["server_performance"]
    member = f"<PerformanceLevel.{performance.upper()}: {performance!r}>"
    return "{" + (body + ", " if body else "") + f"'server_performance': {member}" + "}"
