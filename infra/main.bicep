// cipherflow production deployment: `azd up` provisions this file in one pass (the landing
// account's Event Grid subscription included, see landing.bicep), then deploys the app.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; with the subscription and location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer the Flex Consumption plan.')
param location string

@minLength(1)
@description('AUTH_ISSUER: the `iss` of the bearer tokens the API accepts.')
param authIssuer string

@minLength(1)
@description('AUTH_AUDIENCE: the `aud` those tokens must carry.')
param authAudience string

@minLength(1)
@description('AUTH_JWKS_URL: https URL of the issuer\'s signing keys.')
param authJwksUrl string

@minLength(36)
@maxLength(36)
@description('CMK_APP_CLIENT_ID: application (client) id of the multi-tenant CMK app registration (README, "Deploying to Azure").')
param cmkAppClientId string

@minLength(1)
@description('CMK_APP_NAME: the CMK app\'s display name, as shown to customers.')
param cmkAppName string

@minLength(1)
@description('CMK_APP_URI: https URI of the CMK app, also its consent redirect URI.')
param cmkAppUri string

@description('PUBLIC_BASE_URL: https URL clients reach the API at, when not the function app\'s own host name (a custom domain or gateway); empty: its own.')
param publicBaseUrl string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'cipherflow-resources'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    authIssuer: authIssuer
    authAudience: authAudience
    authJwksUrl: authJwksUrl
    cmkAppClientId: cmkAppClientId
    cmkAppName: cmkAppName
    cmkAppUri: cmkAppUri
    publicBaseUrl: publicBaseUrl
  }
}

// azd stores these in the environment (`azd env get-values`); none is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output SERVICE_CIPHERFLOW_URI string = resources.outputs.functionAppUri
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName
output LANDING_STORAGE_ACCOUNT_NAME string = resources.outputs.landingAccountName
output LANDING_STORAGE_BLOB_ENDPOINT string = resources.outputs.landingBlobEndpoint
output SYSTEM_KEY_VAULT_URL string = resources.outputs.systemKeyVaultUrl
output SYSTEM_KEY_NAME string = resources.outputs.systemKeyName
output MANAGED_IDENTITY_CLIENT_ID string = resources.outputs.identityClientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = resources.outputs.identityPrincipalId
