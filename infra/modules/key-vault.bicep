// The publisher's signing key for full-size composites: an EC P-256 key in a Key Vault with Azure RBAC,
// which the function's identity may use to sign (Key Vault Crypto User) but never read or export.
// https://learn.microsoft.com/azure/key-vault/general/rbac-guide

param name string
param location string
param tags object

@description('Principal id of the function app\'s user-assigned identity.')
param functionPrincipalId string

var roles = {
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424' // Key Vault Crypto User
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' = {
  parent: vault
  name: 'publisher-signing'
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
  }
}

resource cryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signingKey.id, functionPrincipalId, roles.keyVaultCryptoUser)
  scope: signingKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output signerUri string = signingKey.properties.keyUriWithVersion
