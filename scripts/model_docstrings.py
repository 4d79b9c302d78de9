"""One-line docstrings of the generated models, written for this project.

Keyed by schema name. A schema missing here (one a newer spec adds) gets a plain
docstring naming the schema it comes from; add a line here to do better.
"""

from __future__ import annotations

#: (webhook_type, webhook_code) of webhook schemas whose spec gives no example to read
#: them from (Plaid hides these two from its docs).
WEBHOOK_CODES: dict[str, tuple[str, str]] = {
    "LinkDeliveryCallbackWebhook": ("LINK_DELIVERY", "LINK_CALLBACK"),
    "LinkUserDeliveryStatusWebhook": ("LINK_DELIVERY", "DELIVERY_STATUS"),
}

#: Per operation (the snake_case operationId): what the call does, in one line, and
#: anything a caller must know. An operation missing here gets a plain line naming it.
#: Which schema reads a (webhook_type, webhook_code) that two schemas claim; without an
#: entry, the one with more properties (see generate_models.Generator.webhooks).
WEBHOOK_CHOICES: dict[tuple[str, str], str] = {}

#: What to use instead of a deprecated operation, for its DeprecationWarning.
DEPRECATIONS: dict[str, str] = {
    "link_delivery_create": (
        "create the token with link_token_create(hosted_link=LinkTokenCreateHostedLink("
        "delivery_method='sms' or 'email')) and the user's phone number or email address"
    ),
    "link_delivery_get": (
        "follow a Hosted Link session through its Link webhooks (SESSION_FINISHED, "
        "ITEM_ADD_RESULT) or link_token_get"
    ),
    "link_profile_eligibility_check": "Plaid names no replacement",
}

OPERATION_DOCS: dict[str, tuple[str, str]] = {
    "link_token_create": (
        "Create a link token to open Link with.",
        "Give `user_id` (newer integrations) or `user` (with `client_user_id`), not neither.",
    ),
    "link_token_get": (
        "Read back a link token's settings and the Link sessions run with it.",
        "An unknown or expired token is an `InvalidInputError` with code `INVALID_LINK_TOKEN`. "
        "For Hosted and Multi-Item Link, `link_sessions[].results` holds the public tokens.",
    ),
    "link_delivery_create": (
        "Send a Hosted Link URL to a user by SMS or email.",
        "The link token must have been created with `hosted_link`. Returns the URL and the "
        "delivery session id to follow it with `link_delivery_get`.",
    ),
    "link_delivery_get": (
        "Follow a Hosted Link delivery: its status and what Link returned.",
        "",
    ),
    "item_public_token_exchange": (
        "Exchange a public token from Link for the Item's lasting access token.",
        "A public token is single-use and short-lived; store the `access_token` (it is "
        "masked in every repr and log line).",
    ),
    "webhook_verification_key_get": (
        "Fetch the public key that signs Plaid's webhooks, by its key id.",
        "The key id is the `kid` in the header of a webhook's `Plaid-Verification` JWT.",
    ),
    "link_profile_eligibility_check": (
        "Check whether a user has a saved Link profile that fits.",
        "Plaid removed this endpoint from its public spec in 1.609.0; it is kept because "
        "users asked for it. Check with Plaid that your integration still has it.",
    ),
    "link_oauth_correlation_id_exchange": (
        "Exchange an OAuth redirect's correlation id for its link token.",
        "",
    ),
}

DOCSTRINGS: dict[str, str] = {
    # -- from scripts/contract_supplement.yml ------------------------------------------
    "AuthDefaultUpdateWebhook": "An Item's accounts gained or changed their Auth data (account and routing numbers).",
    "ProductPermissionsRequiredAuthWebhook": "Auth needs the user's permission again: send them through update mode.",
    # -- requests and responses of the four endpoints ---------------------------------
    "LinkTokenCreateRequest": "Body of `/link/token/create`: who the user is and which Link flow to open.",
    "LinkTokenCreateResponse": "Answer of `/link/token/create`: the new link token and when it expires.",
    "LinkTokenGetRequest": "Body of `/link/token/get`: the link token to look up.",
    "LinkTokenGetResponse": "Answer of `/link/token/get`: a token's settings and the Link sessions run with it.",
    "LinkProfileEligibilityCheckRequest": "Body of `/link/profile/eligibility/check`: the session and user to check.",
    "LinkProfileEligibilityCheckResponse": "Answer of `/link/profile/eligibility/check`: whether a saved profile fits.",
    "LinkOAuthCorrelationIdExchangeRequest": "Body of `/link/oauth/correlation_id/exchange`: the id from the OAuth redirect.",
    "LinkOAuthCorrelationIdExchangeResponse": "Answer of `/link/oauth/correlation_id/exchange`: the link token behind the id.",
    # -- link token creation options -----------------------------------------------
    "LinkTokenCreateRequestUser": "The end user a link token is made for; only `client_user_id` is required.",
    "LinkTokenCreateRequestAuth": "Switches for the Auth product's extra verification flows.",
    "LinkTokenCreateRequestBaseReport": "Options for the Base Report product: how many days of history.",
    "LinkTokenCreateRequestCreditPartnerInsights": "Options for the Credit Partner Insights product.",
    "LinkTokenCreateRequestDepositSwitch": "Options for the Deposit Switch product: the switch to run.",
    "LinkTokenCreateRequestEmployment": "Options for the Employment product: which sources to offer.",
    "LinkTokenCreateRequestEmploymentBankIncome": "Bank-based employment options: days of transactions to read.",
    "LinkTokenCreateRequestIdentityVerification": "Options for Identity Verification: the template and prior consent.",
    "LinkTokenCreateRequestIncomeVerification": "Options for the Income product: sources and their settings.",
    "LinkTokenCreateRequestIncomeVerificationBankIncome": "Bank Income options: days of history and multi-Item linking.",
    "LinkTokenCreateRequestIncomeVerificationPayrollIncome": "Payroll Income options: flows, update mode and document parsing.",
    "LinkTokenCreateRequestPaymentInitiation": "Options for Payment Initiation (Europe): the payment or consent to run.",
    "LinkTokenCreateRequestStatements": "Options for the Statements product: the date range to fetch.",
    "LinkTokenCreateRequestTransfer": "Options for the Transfer product: the intent or payment profile.",
    "LinkTokenCreateRequestUpdate": "Options for update mode, such as letting the user pick accounts again.",
    "LinkTokenCreateRequestUserStatedIncomeSource": "An income source the user declared: employer, category and pay.",
    "LinkTokenCreateCardSwitch": "Options for the Card Switch flow: the card's BIN.",
    "LinkTokenCreateHostedLink": "Options for Plaid-hosted Link: delivery, redirect and URL lifetime.",
    "LinkTokenCreateIdentity": "Options for the Identity product: document upload and account choice.",
    "LinkTokenCreateInstitutionData": "Data that lets Link highlight an institution, such as a routing number.",
    "LinkTokenAccountFilters": "Which account subtypes Link shows, per account type.",
    "LinkTokenEUConfig": "Options for Link flows in the EU.",
    "LinkTokenInvestments": "Options for the Investments product.",
    "LinkTokenInvestmentsAuth": "Options for the Investments Auth product.",
    "LinkTokenTransactions": "Options for the Transactions product: days of history to request.",
    "IdentityVerificationRequestUserName": "The user's legal name, to prefill Identity Verification.",
    "UserAddress": "The user's home address; only the country is required.",
    "UserIDNumber": "An identity document number the user gave, with its type.",
    "LinkProfileEligibilityCheckUser": "The user whose saved profile is checked, by phone number.",
    # -- link token metadata and sessions ---------------------------------------
    "LinkTokenGetMetadataResponse": "The settings a link token was created with, as `/link/token/get` reports them.",
    "AccountFiltersResponse": "The account filters a link token was created with.",
    "LinkTokenGetSessionsResponse": "One Link session run with a token: timing, callbacks, events and results.",
    "LinkSessionSuccess": "The onSuccess callback of a session (deprecated in favour of `results`).",
    "LinkSessionSuccessMetadata": "What onSuccess reported: institution, accounts and session id.",
    "LinkSessionSuccessMetadataAccount": "An account the user connected in a session.",
    "LinkSessionSuccessMetadataInstitution": "The institution a session connected to.",
    "LinkSessionExit": "The onExit callback of a session: the error and where the user left.",
    "LinkSessionExitDeprecated": "The former shape of the onExit callback, kept for old integrations.",
    "LinkSessionExitMetadata": "Where the user left Link: institution, status and session id.",
    "LinkSessionExitMetadataInstitution": "The institution the user had chosen when leaving Link.",
    "LinkSessionResults": "Everything a session produced: Items added and income results.",
    "LinkSessionItemAddResult": "An Item added in a session: its public token, accounts and institution.",
    "LinkSessionBankIncomeResult": "The outcome of a Bank Income flow in a session.",
    "LinkSessionPayrollIncomeResult": "The outcome of a payroll income flow: documents retrieved.",
    "CreditSessionDocumentIncomeResult": "How many income documents of each kind the user uploaded.",
    "LinkEvent": "One event of a Link session, such as opening an institution or submitting credentials.",
    "LinkEventMetadata": "Details of a Link event; which keys are present depends on the event.",
    "PlaidError": "An error as Plaid reports it: type, code, messages and request id.",
    # -- account filters ---------------------------------------------------------------
    "DepositoryFilter": "Account subtypes to show for depository accounts.",
    "CreditFilter": "Account subtypes to show for credit accounts.",
    "LoanFilter": "Account subtypes to show for loan accounts.",
    "InvestmentFilter": "Account subtypes to show for investment accounts.",
    "OtherFilter": "Account subtypes to show for accounts of type other.",
    # -- enumerations ------------------------------------------------------------------
    "Products": "Plaid products a link token can initialise.",
    "CountryCode": "Countries Link can serve, as ISO 3166-1 alpha-2 codes.",
    "DepositoryAccountSubtype": "Subtypes of depository accounts, for account filters.",
    "CreditAccountSubtype": "Subtypes of credit accounts, for account filters.",
    "LoanAccountSubtype": "Subtypes of loan accounts, for account filters.",
    "InvestmentAccountSubtype": "Subtypes of investment accounts, for account filters.",
    "OtherAccountSubtype": "Subtypes of accounts of type other, for account filters.",
    "ConsumerReportPermissiblePurpose": "Legal reasons for which a consumer report may be made.",
    "CreditSessionBankIncomeStatus": "Outcomes of a Bank Income flow.",
    "EmploymentSourceType": "Sources of employment data a user may share.",
    "HostedLinkDeliveryMethod": "Ways Plaid can send a hosted Link URL to the user.",
    "IDNumberType": "Kinds of identity document number, by country.",
    "IncomeVerificationDocParsingConfig": "Analyses to run on uploaded income documents.",
    "IncomeVerificationPayrollFlowType": "Ways to collect payroll income data.",
    "IncomeVerificationSourceType": "Sources of income data a user may share.",
    "LinkSessionSuccessMetadataTransferStatus": "Whether a transfer made through Transfer UI completed.",
    "PlaidErrorType": "Broad classes of Plaid errors; each maps to one exception class.",
    "PrismProduct": "Prism products a Credit Partner Insights flow can return.",
    "UserStatedIncomeSourceCategory": "Categories of a declared income source.",
    "UserStatedIncomeSourceFrequency": "How often a declared income source pays.",
    "UserStatedIncomeSourcePayType": "Whether a declared pay amount is gross or net.",
    # -- aliases -----------------------------------------------------------------------
    "APIClientID": "Your Plaid client id; the session sends it as a header.",
    "APISecret": "Your Plaid secret; the session sends it as a header and never logs it.",
    "AccessToken": "A token granting access to one Item's data.",
    "UserToken": "A token identifying a Plaid user record.",
    "RequestID": "Plaid's id of one API request; quote it when asking Plaid for help.",
    "CityNullable": "A city name.",
    "Street2": "Second address line, such as a flat number.",
    "StreetNullable": "First address line.",
    "Region": "A state or province, as an ISO 3166-2 subdivision code.",
    "PostalCode": "A postal or ZIP code.",
    "GenericCountryCode": "A two-letter ISO 3166-1 country code.",
    "GivenNameField": "A person's given name.",
    "FamilyNameField": "A person's family name.",
    "IDNumberValue": "An identity document number, without formatting characters.",
    "IdentityVerificationTemplateID": "Id of an Identity Verification template.",
    "IdentityVerificationConsent": "Whether the user already agreed to share data for verification.",
    "HostedLinkCompletionRedirectURI": "Where hosted Link sends the user when done.",
    "HostedLinkIsMobileApp": "Whether hosted Link opens inside a mobile app's web view.",
    "HostedLinkURLLifetimeSeconds": "How long a hosted Link URL stays valid, in seconds.",
    "DepositoryAccountSubtypes": "A list of depository account subtypes.",
    "CreditAccountSubtypes": "A list of credit account subtypes.",
    "LoanAccountSubtypes": "A list of loan account subtypes.",
    "InvestmentAccountSubtypes": "A list of investment account subtypes.",
    "OtherAccountSubtypes": "A list of account subtypes of type other.",
    # -- added with the Link flow contract of 1.697.4 ------------------------------------
    "ItemPublicTokenExchangeRequest": "Body of `/item/public_token/exchange`: the public token Link gave you.",
    "ItemPublicTokenExchangeResponse": "Answer of `/item/public_token/exchange`: the Item's lasting access token and id.",
    "LinkDeliveryCreateRequest": "Body of `/link_delivery/create`: the hosted link token and how to send its URL.",
    "LinkDeliveryCreateResponse": "Answer of `/link_delivery/create`: the Hosted Link URL and its delivery session id.",
    "LinkDeliveryGetRequest": "Body of `/link_delivery/get`: the delivery session to look up.",
    "LinkDeliveryGetResponse": "Answer of `/link_delivery/get`: how far the user got, and what Link returned.",
    "WebhookVerificationKeyGetRequest": "Body of `/webhook_verification_key/get`: the key id from a webhook's JWT header.",
    "WebhookVerificationKeyGetResponse": "Answer of `/webhook_verification_key/get`: the public key that signs webhooks.",
    "JWKPublicKey": "A public key in JSON Web Key form (EC P-256), used to check webhook signatures.",
    "LinkDeliveryCommunicationMethod": "Where to send a Hosted Link URL: by SMS or email, and to which address.",
    "LinkDeliveryDeliveryMethod": "How a Hosted Link URL reaches the user: SMS or email.",
    "LinkDeliveryOptions": "Optional settings of a Hosted Link delivery, such as the recipient.",
    "LinkDeliveryRecipient": "Who receives a Hosted Link URL: their contact methods and names.",
    "LinkDeliverySessionStatus": "Where a Hosted Link session stands: created, opened, completed, exited or expired.",
    "LinkDeliveryMetadata": "How a Hosted Link URL was sent and whether it arrived.",
    "LinkDeliveryAccount": "An account connected through Hosted Link, as the delivery reports it.",
    "LinkDeliveryInstitution": "The institution a Hosted Link session connected to.",
    "LinkDeliveryVerificationStatus": "Whether an account's micro-deposit or database verification is done.",
    "LinkDeliveryCallbackWebhook": "Webhook `LINK_DELIVERY`/`LINK_CALLBACK`: a Link callback (success, exit, event) of a Hosted Link session.",
    "LinkUserDeliveryStatusWebhook": "Webhook `LINK_DELIVERY`/`DELIVERY_STATUS`: whether the Hosted Link URL reached the user.",
    "LinkDeliveryWebhookCallbackType": "Which Link callback a `LINK_CALLBACK` webhook carries.",
    "LinkDeliveryWebhookCommunicationMethod": "How a Hosted Link URL was sent, as a webhook reports it.",
    "LinkDeliveryWebhookDeliveryStatus": "Whether sending the Hosted Link URL succeeded.",
    "LinkCallbackMetadata": "What a Link callback of a Hosted Link session carried: event, status, accounts.",
    "ItemAddResultWebhook": "Webhook `LINK`/`ITEM_ADD_RESULT`: one Item was added in a Hosted or Multi-Item session; carries its public token.",
    "LinkSessionFinishedWebhook": "Webhook `LINK`/`SESSION_FINISHED`: a Link session ended; its status and any public tokens.",
    "LinkEventsWebhook": "Webhook `LINK`/`EVENTS`: the events of a Link session (sent again if the user comes back).",
    "LinkEventName": "The name of something that happened in Link, such as `OPEN` or `HANDOFF`.",
    "WebhookEnvironmentValues": "The Plaid environment a webhook came from.",
    "ItemId": "Plaid's id of an Item.",
    "UserId": "Plaid's id of a user record.",
    "NewUserID": "The user id of Plaid's newer user API, which replaces `user` for some integrations.",
    "LinkTokenCreateRequestRedirectUri": "Where Link sends the user back after an OAuth institution; must be registered with Plaid.",
    "LinkTokenCreateRequestAppearanceMode": "Light, dark or the system's appearance for Link.",
    "LinkTokenCreateRequestPaymentConfiguration": "Options for the Pay by Bank flow, such as the amount.",
    "LinkTokenCashflowReport": "Options for the Cashflow Report product.",
    "LimitedPurposeType": "A use a limited-purpose checking account is restricted to, such as rent.",
    "LimitedPurposeTypes": "The limited-purpose account uses a flow accepts.",
    "LinkSessionCraItemAddResult": "A Plaid Check Item added in a Link session.",
    "LinkSessionCraUpdateResult": "A Plaid Check Item updated in a Link session (update mode).",
    "LinkSessionCraDocumentUploadResult": "Documents a user uploaded in a Plaid Check Link session.",
    "LinkTokenCreateRequestCraOptions": "Options for Plaid Check (consumer report) products.",
    "LinkTokenCreateRequestCraOptionsBaseReport": "Base Report options of a Plaid Check flow, such as your report id.",
    "LinkTokenCreateRequestCraOptionsBaseReportGSEOptions": "Options for reports to be shared with mortgage agencies (GSEs).",
    "LinkTokenCreateRequestCraOptionsCashflowInsights": "Cash Flow Insights options of a Plaid Check flow.",
    "LinkTokenCreateRequestCraOptionsIncomeInsights": "Income Insights options of a Plaid Check flow.",
    "LinkTokenCreateRequestCraOptionsLendScore": "LendScore options of a Plaid Check flow.",
    "LinkTokenCreateRequestCraOptionsNetworkInsights": "Network Insights options of a Plaid Check flow.",
    "LinkTokenCreateRequestCraOptionsPartnerInsights": "Partner Insights options of a Plaid Check flow: Prism and FICO.",
    "CraCheckReportHomeLendingReportOptions": "Options for a home lending (verification) report.",
    "CraCheckReportVerificationGetEmploymentRefreshOptions": "Options for an employment refresh report.",
    "CraCheckReportVerificationGetReportType": "Which home lending report to make.",
    "CraPartnerInsightsBaseFicoScore": "The bureau FICO score an UltraFICO request starts from.",
    "CraPartnerInsightsBaseFicoScoreVersion": "Version of a base FICO score model.",
    "CraPartnerInsightsBureau": "The credit bureau a base FICO score came from.",
    "CraPartnerInsightsFicoInput": "FICO settings of a Partner Insights flow.",
    "CraPartnerInsightsUltraFicoScoreRequest": "What one UltraFICO score needs.",
    "CraPartnerInsightsUltraFicoScoreVersion": "Version of the UltraFICO score.",
    "GSEReportType": "A kind of report for mortgage agencies (GSEs).",
    "IncomeInsightsFilter": "Income categories to keep in Income Insights; a default set when none are given.",
    "IncomeInsightsVersion": "Version of Income Insights.",
    "CashflowAttributesVersion": "Version of the cash flow attributes (needed for Cash Flow Insights).",
    "NetworkInsightsVersion": "Version of Network Insights.",
    "PlaidLendScoreVersion": "Version of LendScore.",
    "PrismVersions": "Which version of each Prism product to run.",
    "PrismCashScoreVersion": "Version of Prism CashScore.",
    "PrismDetectVersion": "Version of Prism Detect.",
    "PrismExtendVersion": "Version of Prism Extend.",
    "PrismFirstDetectVersion": "Version of Prism FirstDetect.",
    "PrismInsightsVersion": "Version of Prism Insights.",
}
