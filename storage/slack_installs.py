"""The tables of the installable Slack app: slack_sdk's installation store (one row per install and per
bot token, rotated tokens included) and its OAuth state store, on the app's own database.

The columns are slack_sdk's own (built by its table builders), registered on the models' metadata so
migrations, the schema check and the tests see them like every other table.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Table
from sqlmodel import SQLModel

SLACK_INSTALLATIONS: Table = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
SLACK_BOTS: Table = SQLAlchemyInstallationStore.build_bots_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_bots_table_name
)
SLACK_OAUTH_STATES: Table = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    SQLModel.metadata, SQLAlchemyOAuthStateStore.default_table_name
)
