SELECT resource.resource_type, resource.resource_id 
FROM resource 
WHERE resource.deleted IS false AND resource.resource_type = 'Observation' AND (EXISTS (SELECT * 
FROM index_quantity AS index_quantity_1 
WHERE index_quantity_1.resource_type = 'Observation' AND index_quantity_1.resource_id = resource.resource_id AND index_quantity_1.param = 'value-quantity' AND (index_quantity_1.value IS NOT NULL AND index_quantity_1.value > 140.0 OR index_quantity_1.value IS NULL AND (index_quantity_1.high IS NULL OR index_quantity_1.high > 140.0)) AND index_quantity_1.system = 'http://unitsofmeasure.org' AND index_quantity_1.code = 'mm[Hg]')) ORDER BY resource.last_updated_us DESC NULLS LAST, resource.resource_type, resource.resource_id
