// Network isolation (main.bicep's vnetEnabled), as Microsoft's Flex Consumption + Event Grid quickstart
// (Azure-Samples/functions-quickstart-typescript-azd-eventgrid-blob, infra/app/vnet.bicep and
// storage-PrivateEndpoint.bicep) does it: a virtual network with a subnet delegated to Microsoft.App/environments
// for the function app's VNet integration, and a subnet of private endpoints, each with private DNS zones
// linked to the network so that the usual host names resolve to the private addresses. The endpoints: the
// storage account's blob and queue services (the pipeline's data, AzureWebJobsStorage, the deployment package),
// every Foundry account of the deployment pool, the Key Vault (publisher signing) and the outcome topic.
//
// Outbound: every Azure service the code sends data to is behind one of these endpoints. What is left is
// Entra ID (token requests) and Application Insights ingestion, which have none here. Subnets created with
// Network API 2025-07-01 or later are private by default (no default outbound access), so the app subnet asks
// for default outbound access explicitly, as every subnet had it before; a locked-down egress replaces it with
// a NAT gateway (README.md, "Network isolation").

@description('Name of the virtual network; also the prefix of the private endpoints\' names.')
param name string

param location string
param tags object = {}

@description('Resource id of the storage account (blob and queue endpoints).')
param storageAccountId string

@description('Resource ids of the deployment pool\'s Foundry accounts, first region first. They may live in other regions: a private endpoint reaches an account across regions.')
param aiAccountIds array

@description('Resource id of the Key Vault holding the publisher\'s signing key.')
param keyVaultId string

@description('Resource id of the Event Grid custom topic the app sends outcome events to.')
param outcomeTopicId string

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// The private DNS zones, for the public cloud, from Microsoft's "Azure Private Endpoint private DNS zone
// values" (https://learn.microsoft.com/azure/private-link/private-endpoint-dns): storage blob and queue;
// Key Vault `vault`; Event Grid `topic`; and for a Foundry resource's `account` sub-resource all three of
// cognitiveservices, openai (the host the app calls) and services.ai.
var zones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  vault: 'privatelink.vaultcore.azure.net'
  topic: 'privatelink.eventgrid.azure.net'
  cognitiveServices: 'privatelink.cognitiveservices.azure.com'
  openAi: 'privatelink.openai.azure.com'
  aiServices: 'privatelink.services.ai.azure.com'
}

var serviceEndpoints = [
  {
    name: 'blob'
    target: storageAccountId
    groupId: 'blob'
    zones: [
      'blob'
    ]
  }
  {
    name: 'queue'
    target: storageAccountId
    groupId: 'queue'
    zones: [
      'queue'
    ]
  }
  {
    name: 'vault'
    target: keyVaultId
    groupId: 'vault'
    zones: [
      'vault'
    ]
  }
  {
    name: 'topic'
    target: outcomeTopicId
    groupId: 'topic'
    zones: [
      'topic'
    ]
  }
]

// One endpoint per pool account: a pool member without one could not be reached once its public access is off.
var aiEndpoints = [
  for (id, i) in aiAccountIds: {
    name: 'ai-${i}'
    target: id
    groupId: 'account'
    zones: [
      'cognitiveServices'
      'openAi'
      'aiServices'
    ]
  }
]

var endpoints = concat(serviceEndpoints, aiEndpoints)

resource vnet 'Microsoft.Network/virtualNetworks@2025-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.0.0.0/16'
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: '10.0.1.0/24'
          defaultOutboundAccess: true
          // Flex Consumption's VNet integration needs a subnet delegated to Microsoft.App/environments.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: '10.0.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource dnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in items(zones): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, i) in items(zones): {
    parent: dnsZones[i]
    name: name
    location: 'global'
    tags: tags
    properties: {
      virtualNetwork: {
        id: vnet.id
      }
      registrationEnabled: false
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-09-01' = [
  for e in endpoints: {
    name: '${name}-${e.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: '${vnet.id}/subnets/${privateEndpointSubnetName}'
      }
      privateLinkServiceConnections: [
        {
          name: e.name
          properties: {
            privateLinkServiceId: e.target
            groupIds: [
              e.groupId
            ]
          }
        }
      ]
    }
  }
]

// The zone group writes each endpoint's A records into its zones.
resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-09-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        for zone in e.zones: {
          name: zone
          properties: {
            privateDnsZoneId: resourceId('Microsoft.Network/privateDnsZones', zones[zone])
          }
        }
      ]
    }
    dependsOn: [
      dnsZones
    ]
  }
]

output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output name string = vnet.name
