package events

// CognitoEvent is the event Amazon Cognito Sync sends when a dataset is
// synchronised.
type CognitoEvent struct {
	DatasetName    string                          `json:"datasetName"`
	DatasetRecords map[string]CognitoDatasetRecord `json:"datasetRecords"`
	EventType      string                          `json:"eventType"`
	IdentityID     string                          `json:"identityId"`
	IdentityPoolID string                          `json:"identityPoolId"`
	Region         string                          `json:"region"`
	Version        int                             `json:"version"`
}

// CognitoDatasetRecord is one record of a Cognito Sync dataset: its old and
// new value and the operation.
type CognitoDatasetRecord struct {
	NewValue string `json:"newValue"`
	OldValue string `json:"oldValue"`
	Op       string `json:"op"`
}

// CognitoEventUserPoolsHeader holds the fields every Cognito user pool
// trigger event starts with.
type CognitoEventUserPoolsHeader struct {
	Version       string                             `json:"version"`
	TriggerSource string                             `json:"triggerSource"`
	Region        string                             `json:"region"`
	UserPoolID    string                             `json:"userPoolId"`
	CallerContext CognitoEventUserPoolsCallerContext `json:"callerContext"`
	UserName      string                             `json:"userName"`
}

// CognitoEventUserPoolsCallerContext names the SDK and app client that
// caused a user pool trigger.
type CognitoEventUserPoolsCallerContext struct {
	AWSSDKVersion string `json:"awsSdkVersion"`
	ClientID      string `json:"clientId"`
}

// CognitoEventUserPoolsPreSignup is the pre sign-up trigger: the function
// may reject the sign-up (by returning an error) or auto-confirm the user.
type CognitoEventUserPoolsPreSignup struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPreSignupRequest  `json:"request"`
	Response CognitoEventUserPoolsPreSignupResponse `json:"response"`
}

// CognitoEventUserPoolsPreSignupRequest is the pre sign-up request.
type CognitoEventUserPoolsPreSignupRequest struct {
	UserAttributes map[string]string `json:"userAttributes"`
	ValidationData map[string]string `json:"validationData"`
	ClientMetadata map[string]string `json:"clientMetadata"`
}

// CognitoEventUserPoolsPreSignupResponse lets the function confirm the user
// and verify their email or phone without the usual code.
type CognitoEventUserPoolsPreSignupResponse struct {
	AutoConfirmUser bool `json:"autoConfirmUser"`
	AutoVerifyEmail bool `json:"autoVerifyEmail"`
	AutoVerifyPhone bool `json:"autoVerifyPhone"`
}

// CognitoEventUserPoolsPreAuthentication is the pre authentication trigger:
// returning an error denies the sign-in.
type CognitoEventUserPoolsPreAuthentication struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPreAuthenticationRequest  `json:"request"`
	Response CognitoEventUserPoolsPreAuthenticationResponse `json:"response"`
}

// CognitoEventUserPoolsPreAuthenticationRequest is the pre authentication
// request.
type CognitoEventUserPoolsPreAuthenticationRequest struct {
	UserAttributes map[string]string `json:"userAttributes"`
	ValidationData map[string]string `json:"validationData"`
}

// CognitoEventUserPoolsPreAuthenticationResponse is empty: the trigger
// returns nothing but success or failure.
type CognitoEventUserPoolsPreAuthenticationResponse struct {
}

// CognitoEventUserPoolsPostConfirmation is the post confirmation trigger,
// sent once a user is confirmed.
type CognitoEventUserPoolsPostConfirmation struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPostConfirmationRequest  `json:"request"`
	Response CognitoEventUserPoolsPostConfirmationResponse `json:"response"`
}

// CognitoEventUserPoolsPostConfirmationRequest is the post confirmation
// request.
type CognitoEventUserPoolsPostConfirmationRequest struct {
	UserAttributes map[string]string `json:"userAttributes"`
	ClientMetadata map[string]string `json:"clientMetadata"`
}

// CognitoEventUserPoolsPostConfirmationResponse is empty.
type CognitoEventUserPoolsPostConfirmationResponse struct {
}

// CognitoEventUserPoolsPostAuthentication is the post authentication
// trigger, sent after a successful sign-in.
type CognitoEventUserPoolsPostAuthentication struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPostAuthenticationRequest  `json:"request"`
	Response CognitoEventUserPoolsPostAuthenticationResponse `json:"response"`
}

// CognitoEventUserPoolsPostAuthenticationRequest is the post authentication
// request.
type CognitoEventUserPoolsPostAuthenticationRequest struct {
	NewDeviceUsed  bool              `json:"newDeviceUsed"`
	UserAttributes map[string]string `json:"userAttributes"`
	ClientMetadata map[string]string `json:"clientMetadata"`
}

// CognitoEventUserPoolsPostAuthenticationResponse is empty.
type CognitoEventUserPoolsPostAuthenticationResponse struct {
}

// CognitoEventUserPoolsPreTokenGen is the pre token generation trigger
// (event version 1): the function may change the ID token's claims and the
// user's groups.
type CognitoEventUserPoolsPreTokenGen struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPreTokenGenRequest  `json:"request"`
	Response CognitoEventUserPoolsPreTokenGenResponse `json:"response"`
}

// CognitoEventUserPoolsPreTokenGenRequest is the version 1 pre token
// generation request.
type CognitoEventUserPoolsPreTokenGenRequest struct {
	UserAttributes     map[string]string  `json:"userAttributes"`
	GroupConfiguration GroupConfiguration `json:"groupConfiguration"`
	ClientMetadata     map[string]string  `json:"clientMetadata"`
}

// CognitoEventUserPoolsPreTokenGenResponse is the version 1 pre token
// generation response.
type CognitoEventUserPoolsPreTokenGenResponse struct {
	ClaimsOverrideDetails ClaimsOverrideDetails `json:"claimsOverrideDetails"`
}

// ClaimsOverrideDetails lists the claims to add, change or remove in the ID
// token and the group overrides (pre token generation version 1).
type ClaimsOverrideDetails struct {
	GroupOverrideDetails  GroupConfiguration `json:"groupOverrideDetails"`
	ClaimsToAddOrOverride map[string]string  `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string           `json:"claimsToSuppress"`
}

// GroupConfiguration is the user's groups and IAM roles, and the preferred
// role, as in the token.
type GroupConfiguration struct {
	GroupsToOverride   []string `json:"groupsToOverride"`
	IAMRolesToOverride []string `json:"iamRolesToOverride"`
	PreferredRole      *string  `json:"preferredRole"`
}

// CognitoEventUserPoolsPreTokenGenV2 is the pre token generation trigger in
// event version 2 (ID and access token).
//
// Deprecated: claim values here can only be strings; use
// CognitoEventUserPoolsPreTokenGenV2_0.
type CognitoEventUserPoolsPreTokenGenV2 struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPreTokenGenV2Request  `json:"request"`
	Response CognitoEventUserPoolsPreTokenGenV2Response `json:"response"`
}

// CognitoEventUserPoolsPreTokenGenV2Request is the version 2 pre token
// generation request.
//
// Deprecated: use CognitoEventUserPoolsPreTokenGenRequestV2_0.
type CognitoEventUserPoolsPreTokenGenV2Request struct {
	UserAttributes     map[string]string  `json:"userAttributes"`
	GroupConfiguration GroupConfiguration `json:"groupConfiguration"`
	ClientMetadata     map[string]string  `json:"clientMetadata,omitempty"`
	Scopes             []string           `json:"scopes"`
}

// CognitoEventUserPoolsPreTokenGenV2Response is the version 2 pre token
// generation response.
//
// Deprecated: use CognitoEventUserPoolsPreTokenGenResponseV2_0.
type CognitoEventUserPoolsPreTokenGenV2Response struct {
	ClaimsAndScopeOverrideDetails ClaimsAndScopeOverrideDetails `json:"claimsAndScopeOverrideDetails"`
}

// ClaimsAndScopeOverrideDetails changes the ID token, the access token and
// the groups (version 2, string claims only).
//
// Deprecated: use ClaimsAndScopeOverrideDetailsV2_0.
type ClaimsAndScopeOverrideDetails struct {
	IDTokenGeneration     IDTokenGeneration     `json:"idTokenGeneration"`
	AccessTokenGeneration AccessTokenGeneration `json:"accessTokenGeneration"`
	GroupOverrideDetails  GroupConfiguration    `json:"groupOverrideDetails"`
}

// IDTokenGeneration lists the ID token claims to add, change or remove
// (string values only).
type IDTokenGeneration struct {
	ClaimsToAddOrOverride map[string]string `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string          `json:"claimsToSuppress"`
}

// AccessTokenGeneration lists the access token claims and scopes to add,
// change or remove (string claim values only).
//
// Deprecated: use AccessTokenGenerationV2_0.
type AccessTokenGeneration struct {
	ClaimsToAddOrOverride map[string]string `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string          `json:"claimsToSuppress"`
	ScopesToAdd           []string          `json:"scopesToAdd"`
	ScopesToSuppress      []string          `json:"scopesToSuppress"`
}

// CognitoEventUserPoolsPreTokenGenV2_0 is the pre token generation trigger
// in event version 2 or 3: it may change both tokens' claims (of any JSON
// type), the access token's scopes, and the groups.
type CognitoEventUserPoolsPreTokenGenV2_0 struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsPreTokenGenRequestV2_0  `json:"request"`
	Response CognitoEventUserPoolsPreTokenGenResponseV2_0 `json:"response"`
}

// CognitoEventUserPoolsPreTokenGenRequestV2_0 is the version 2 pre token
// generation request.
type CognitoEventUserPoolsPreTokenGenRequestV2_0 struct {
	UserAttributes     map[string]string      `json:"userAttributes"`
	GroupConfiguration GroupConfigurationV2_0 `json:"groupConfiguration"`
	ClientMetadata     map[string]string      `json:"clientMetadata,omitempty"`
	Scopes             []string               `json:"scopes"`
}

// CognitoEventUserPoolsPreTokenGenResponseV2_0 is the version 2 pre token
// generation response.
type CognitoEventUserPoolsPreTokenGenResponseV2_0 struct {
	ClaimsAndScopeOverrideDetails ClaimsAndScopeOverrideDetailsV2_0 `json:"claimsAndScopeOverrideDetails"`
}

// ClaimsAndScopeOverrideDetailsV2_0 changes the ID token, the access token
// and the groups.
type ClaimsAndScopeOverrideDetailsV2_0 struct {
	IDTokenGeneration     IDTokenGenerationV2_0     `json:"idTokenGeneration"`
	AccessTokenGeneration AccessTokenGenerationV2_0 `json:"accessTokenGeneration"`
	GroupOverrideDetails  GroupConfigurationV2_0    `json:"groupOverrideDetails"`
}

// IDTokenGenerationV2_0 lists the ID token claims to add, change or remove.
type IDTokenGenerationV2_0 struct {
	ClaimsToAddOrOverride map[string]interface{} `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string               `json:"claimsToSuppress"`
}

// AccessTokenGenerationV2_0 lists the access token claims and scopes to add,
// change or remove.
type AccessTokenGenerationV2_0 struct {
	ClaimsToAddOrOverride map[string]interface{} `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string               `json:"claimsToSuppress"`
	ScopesToAdd           []string               `json:"scopesToAdd"`
	ScopesToSuppress      []string               `json:"scopesToSuppress"`
}

// GroupConfigurationV2_0 is the user's groups and IAM roles, and the
// preferred role (pre token generation version 2).
type GroupConfigurationV2_0 struct {
	GroupsToOverride   []string `json:"groupsToOverride"`
	IAMRolesToOverride []string `json:"iamRolesToOverride"`
	PreferredRole      *string  `json:"preferredRole"`
}

// CognitoEventUserPoolsMigrateUser is the user migration trigger, sent when
// an unknown user signs in or resets a password: the function looks the user
// up elsewhere and returns their attributes. Request and response fields are
// promoted from the embedded structs.
type CognitoEventUserPoolsMigrateUser struct {
	CognitoEventUserPoolsHeader
	CognitoEventUserPoolsMigrateUserRequest  `json:"request"`
	CognitoEventUserPoolsMigrateUserResponse `json:"response"`
}

// CognitoEventUserPoolsMigrateUserRequest is the user migration request.
type CognitoEventUserPoolsMigrateUserRequest struct {
	Password       string            `json:"password"`
	ValidationData map[string]string `json:"validationData"`
	ClientMetadata map[string]string `json:"clientMetadata"`
}

// CognitoEventUserPoolsMigrateUserResponse is the migrated user: attributes,
// final status, and how to send the welcome message.
type CognitoEventUserPoolsMigrateUserResponse struct {
	UserAttributes         map[string]string `json:"userAttributes"`
	FinalUserStatus        string            `json:"finalUserStatus"`
	MessageAction          string            `json:"messageAction"`
	DesiredDeliveryMediums []string          `json:"desiredDeliveryMediums"`
	ForceAliasCreation     bool              `json:"forceAliasCreation"`
}

// CognitoEventUserPoolsChallengeResult is one step of a custom
// authentication flow so far: the challenge and whether it was passed.
type CognitoEventUserPoolsChallengeResult struct {
	ChallengeName     string `json:"challengeName"`
	ChallengeResult   bool   `json:"challengeResult"`
	ChallengeMetadata string `json:"challengeMetadata"`
}

// CognitoEventUserPoolsDefineAuthChallenge is the define auth challenge
// trigger: the function picks the next challenge of a custom flow, or ends
// it.
type CognitoEventUserPoolsDefineAuthChallenge struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsDefineAuthChallengeRequest  `json:"request"`
	Response CognitoEventUserPoolsDefineAuthChallengeResponse `json:"response"`
}

// CognitoEventUserPoolsDefineAuthChallengeRequest is the define auth
// challenge request.
type CognitoEventUserPoolsDefineAuthChallengeRequest struct {
	UserAttributes map[string]string                       `json:"userAttributes"`
	Session        []*CognitoEventUserPoolsChallengeResult `json:"session"`
	ClientMetadata map[string]string                       `json:"clientMetadata"`
	UserNotFound   bool                                    `json:"userNotFound"`
}

// CognitoEventUserPoolsDefineAuthChallengeResponse names the next challenge,
// or issues tokens, or fails the sign-in.
type CognitoEventUserPoolsDefineAuthChallengeResponse struct {
	ChallengeName      string `json:"challengeName"`
	IssueTokens        bool   `json:"issueTokens"`
	FailAuthentication bool   `json:"failAuthentication"`
}

// CognitoEventUserPoolsCreateAuthChallenge is the create auth challenge
// trigger: the function builds the challenge to present.
type CognitoEventUserPoolsCreateAuthChallenge struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsCreateAuthChallengeRequest  `json:"request"`
	Response CognitoEventUserPoolsCreateAuthChallengeResponse `json:"response"`
}

// CognitoEventUserPoolsCreateAuthChallengeRequest is the create auth
// challenge request.
type CognitoEventUserPoolsCreateAuthChallengeRequest struct {
	UserAttributes map[string]string                       `json:"userAttributes"`
	ChallengeName  string                                  `json:"challengeName"`
	Session        []*CognitoEventUserPoolsChallengeResult `json:"session"`
	ClientMetadata map[string]string                       `json:"clientMetadata"`
}

// CognitoEventUserPoolsCreateAuthChallengeResponse holds the parameters shown
// to the client, those kept for verification, and metadata for the session.
type CognitoEventUserPoolsCreateAuthChallengeResponse struct {
	PublicChallengeParameters  map[string]string `json:"publicChallengeParameters"`
	PrivateChallengeParameters map[string]string `json:"privateChallengeParameters"`
	ChallengeMetadata          string            `json:"challengeMetadata"`
}

// CognitoEventUserPoolsVerifyAuthChallenge is the verify auth challenge
// response trigger: the function checks the user's answer.
type CognitoEventUserPoolsVerifyAuthChallenge struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsVerifyAuthChallengeRequest  `json:"request"`
	Response CognitoEventUserPoolsVerifyAuthChallengeResponse `json:"response"`
}

// CognitoEventUserPoolsVerifyAuthChallengeRequest is the verify auth
// challenge request, with the user's answer.
type CognitoEventUserPoolsVerifyAuthChallengeRequest struct {
	UserAttributes             map[string]string `json:"userAttributes"`
	PrivateChallengeParameters map[string]string `json:"privateChallengeParameters"`
	ChallengeAnswer            interface{}       `json:"challengeAnswer"`
	ClientMetadata             map[string]string `json:"clientMetadata"`
}

// CognitoEventUserPoolsVerifyAuthChallengeResponse says whether the answer
// was right.
type CognitoEventUserPoolsVerifyAuthChallengeResponse struct {
	AnswerCorrect bool `json:"answerCorrect"`
}

// CognitoEventUserPoolsCustomMessage is the custom message trigger: the
// function writes the SMS or email Cognito is about to send.
type CognitoEventUserPoolsCustomMessage struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsCustomMessageRequest  `json:"request"`
	Response CognitoEventUserPoolsCustomMessageResponse `json:"response"`
}

// CognitoEventUserPoolsCustomMessageRequest carries the placeholders
// ({####} for the code, {username}) the message must contain.
type CognitoEventUserPoolsCustomMessageRequest struct {
	UserAttributes    map[string]interface{} `json:"userAttributes"`
	CodeParameter     string                 `json:"codeParameter"`
	UsernameParameter string                 `json:"usernameParameter"`
	ClientMetadata    map[string]string      `json:"clientMetadata"`
}

// CognitoEventUserPoolsCustomMessageResponse is the message to send.
type CognitoEventUserPoolsCustomMessageResponse struct {
	SMSMessage   string `json:"smsMessage"`
	EmailMessage string `json:"emailMessage"`
	EmailSubject string `json:"emailSubject"`
}

// CognitoFederationProviderType is the kind of external identity provider
// of an inbound federation event.
type CognitoFederationProviderType string

// External identity provider kinds.
const (
	CognitoFederationProviderTypeOIDC            CognitoFederationProviderType = "OIDC"
	CognitoFederationProviderTypeSAML            CognitoFederationProviderType = "SAML"
	CognitoFederationProviderTypeFacebook        CognitoFederationProviderType = "Facebook"
	CognitoFederationProviderTypeGoogle          CognitoFederationProviderType = "Google"
	CognitoFederationProviderTypeSignInWithApple CognitoFederationProviderType = "SignInWithApple"
	CognitoFederationProviderTypeLoginWithAmazon CognitoFederationProviderType = "LoginWithAmazon"
)

// CognitoEventUserPoolsInboundFederation is the inbound federation trigger,
// sent when a user signs in through an external identity provider: the
// function may map the provider's attributes to user pool attributes.
type CognitoEventUserPoolsInboundFederation struct {
	CognitoEventUserPoolsHeader
	Request  CognitoEventUserPoolsInboundFederationRequest  `json:"request"`
	Response CognitoEventUserPoolsInboundFederationResponse `json:"response"`
}

// CognitoEventUserPoolsInboundFederationRequest names the provider and
// carries what it returned.
type CognitoEventUserPoolsInboundFederationRequest struct {
	ProviderName string                                           `json:"providerName"`
	ProviderType CognitoFederationProviderType                    `json:"providerType"`
	Attributes   CognitoEventUserPoolsInboundFederationAttributes `json:"attributes"`
}

// CognitoEventUserPoolsInboundFederationAttributes is what the provider
// returned, by source (only the ones its protocol has are set).
type CognitoEventUserPoolsInboundFederationAttributes struct {
	TokenResponse map[string]string `json:"tokenResponse,omitempty"`
	IDToken       map[string]string `json:"idToken,omitempty"`
	UserInfo      map[string]string `json:"userInfo,omitempty"`
	SAMLResponse  map[string]string `json:"samlResponse,omitempty"`
}

// CognitoEventUserPoolsInboundFederationResponse maps user pool attributes
// to the values to store.
type CognitoEventUserPoolsInboundFederationResponse struct {
	UserAttributesToMap map[string]string `json:"userAttributesToMap"`
}
