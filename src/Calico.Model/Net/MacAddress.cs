using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Calico.Model.Net;

/// <summary>Ethernet MAC addresses in the canonical lower-case colon form (fa:16:3e:12:34:56).</summary>
public static class MacAddress
{
    public static bool TryNormalize(string? text, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (text is null) return false;
        var parts = text.Split(':', '-');
        if (parts.Length != 6) return false;
        var bytes = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes[i]))
                return false;
        }
        normalized = string.Join(':', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        return true;
    }

    /// <summary>True for a unicast address (multicast bit clear) that is not all zeros.</summary>
    public static bool IsUsableUnicast(string normalized)
    {
        var first = byte.Parse(normalized.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (first & 1) == 0 && normalized != "00:00:00:00:00:00";
    }
}
